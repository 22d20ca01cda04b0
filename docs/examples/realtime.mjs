// A realtime client in Node, as your app would write one until the client SDK does it for you:
// it gets a session token from your session route (examples/session-route.mjs), opens Parley's
// WebSocket, prints every event, refreshes the token before it expires, and after a dropped
// connection reconnects and resumes where it left off (docs/realtime.md).
// Run (from the repository root, with the session route running):
//   SESSION_URL=http://localhost:3000/parley-session DEMO_USER=bob node docs/examples/realtime.mjs
// It needs the `ws` package (installed with Parley; elsewhere: npm install ws).
import WebSocket from 'ws'

const SESSION_URL = process.env.SESSION_URL ?? 'http://localhost:3000/parley-session'
const DEMO_USER = process.env.DEMO_USER ?? 'bob'

// Close codes after which reconnecting cannot help (docs/realtime.md#close-codes).
const FINAL = new Set([4400, 4500, 1009])

// Your app calls its own session route with its own session cookie; the demo route reads a header.
async function getSession() {
  const response = await fetch(SESSION_URL, { method: 'POST', headers: { 'x-demo-user': DEMO_USER } })
  if (!response.ok) throw new Error(`the session route answered ${response.status}`)
  return response.json() // { token, expiresAt, apiUrl }
}

const positions = {} // conversation id → last seq seen, sent with `resume` after a reconnect
let failures = 0

function show(frame) {
  const { event, data } = frame
  if (event.startsWith('message.')) positions[data.conversationId] = Math.max(positions[data.conversationId] ?? 0, data.seq)
  if (event === 'message.created') console.log(`${event} ${data.conversationId} #${data.seq} ${data.senderId}: ${data.text}`)
  else console.log(event, JSON.stringify(data))
}

async function connect() {
  const { token, apiUrl } = await getSession()
  const socket = new WebSocket(`${apiUrl.replace(/^http/, 'ws')}/v1/realtime`, {
    headers: { authorization: `Bearer ${token}` }, // browsers send { type: 'auth', token } first instead
  })
  socket.on('message', async (raw) => {
    const frame = JSON.parse(String(raw))
    if (frame.type === 'ready') {
      failures = 0
      console.log(`ready: ${frame.user.id} (${frame.connectionId})`)
      if (Object.keys(positions).length > 0) socket.send(JSON.stringify({ type: 'resume', positions }))
    } else if (frame.type === 'event') {
      show(frame)
    } else if (frame.type === 'token.expiring') {
      const fresh = await getSession()
      socket.send(JSON.stringify({ type: 'token.refresh', token: fresh.token }))
    } else if (frame.type === 'resync') {
      // Over 1,000 messages missed: refetch GET /v1/conversations/{id}/messages instead.
      delete positions[frame.conversationId]
      console.log(`resync ${frame.conversationId}`)
    } else if (frame.type === 'error') {
      console.error(`error ${frame.code}: ${frame.message}`)
    }
  })
  socket.on('error', () => {}) // the 'close' that follows decides what to do
  socket.on('close', (code, reason) => {
    if (FINAL.has(code)) {
      console.error(`closed for good: ${code} ${reason}`)
      process.exit(1)
    }
    // Anything else (1006 dropped, 1012 restarting, 4008 too fast, 4001-4003 credential):
    // back off, then reconnect with a fresh token from the session route.
    const delay = Math.min(30_000, 500 * 2 ** failures++) * (0.5 + Math.random() / 2)
    console.error(`closed (${code}); reconnecting in ${Math.round(delay)} ms`)
    setTimeout(() => connect().catch(retry), delay)
  })
}

function retry(error) {
  const delay = Math.min(30_000, 500 * 2 ** failures++)
  console.error(`${error.message}; retrying in ${delay} ms`)
  setTimeout(() => connect().catch(retry), delay)
}

connect().catch(retry)
