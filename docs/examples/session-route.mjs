// A "session route" for your own backend: your app's signed-in user asks it for a Parley session
// token; it upserts that user into Parley and mints a short-lived token with your secret key.
// Run:  PARLEY_URL=http://localhost:8080 PARLEY_SECRET_KEY=sk_test_… node session-route.mjs
// Then: curl -X POST localhost:3000/parley-session -H 'x-demo-user: alice'
import { createServer } from 'node:http'

const PARLEY_URL = process.env.PARLEY_URL ?? 'http://localhost:8080'
// sk_live_… or sk_test_…, never sent to browsers. Best a key with just the scopes this route hands
// out (tokens carry their key's scopes): users:write tokens:write conversations:read
// conversations:write messages:read messages:write (docs/security.md, "The key behind a session route").
const SECRET_KEY = process.env.PARLEY_SECRET_KEY
const PORT = Number(process.env.PORT ?? 3000)

async function parley(method, path, body) {
  const response = await fetch(PARLEY_URL + path, {
    method,
    headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const json = await response.json()
  if (!response.ok) throw new Error(`${json.code}: ${json.detail}`) // problem+json: code is stable
  return json
}

const server = createServer(async (req, res) => {
  if (req.method !== 'POST' || req.url !== '/parley-session') {
    res.writeHead(404).end()
    return
  }
  // In your app this comes from your own session cookie; the demo takes it from a header.
  const userId = req.headers['x-demo-user']
  if (!userId) {
    res.writeHead(401).end()
    return
  }
  try {
    await parley('POST', '/v1/users', { id: userId, displayName: String(userId) })
    const { token, expiresAt } = await parley('POST', '/v1/auth/token', { userId, expiresIn: 3600 })
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expiresAt, apiUrl: PARLEY_URL }))
  } catch (error) {
    res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.message }))
  }
})

server.listen(PORT, () => console.log(`session route on http://localhost:${PORT}/parley-session`))
