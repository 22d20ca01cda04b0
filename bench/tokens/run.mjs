// B2 / B8: session tokens.
//  - HTTP: GET /v1/identity/me with one (repeated) session token vs GET /healthz, same server, same
//    run; target ratio ≥ 0.85.
//  - In process: first-seen token verifications per second (a full ES256 signature check each);
//    target ≥ 3,500/s per core.
//  - HTTP: POST /v1/auth/token, tokens minted per second; target ≥ 4,000/s.
// Run: npm run build && taskset -c 1 node bench/tokens/run.mjs
import { createParley } from '../../packages/server/dist/app.js'
import { loadConfig } from '../../packages/server/dist/config.js'
import { load, median, report } from '../lib/load.mjs'
import { createBenchTenant, startServer } from '../lib/server.mjs'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)

async function http() {
  // One user makes every request: its per-user limit is raised so the run measures verification.
  const server = await startServer({ PARLEY_USER_RATE_LIMIT: '100000000/60' })
  try {
    const tenant = await createBenchTenant(server)
    const key = tenant.keys.live.key
    await server.call('POST', '/v1/users', { auth: key, body: { id: 'bench-user' } })
    const { token } = await server.call('POST', '/v1/auth/token', { auth: key, body: { userId: 'bench-user' } })
    const health = []
    const me = []
    const mint = []
    const mintBody = JSON.stringify({ userId: 'bench-user' })
    for (let i = 0; i < RUNS; i++) {
      health.push(await load({ url: `${server.url}/healthz`, seconds: SECONDS }))
      me.push(await load({ url: `${server.url}/v1/identity/me`, headers: { authorization: `Bearer ${token}` }, seconds: SECONDS }))
      mint.push(await load({ url: `${server.url}/v1/auth/token`, method: 'POST', body: mintBody, headers: { 'x-api-key': key, 'content-type': 'application/json' }, seconds: SECONDS }))
    }
    const healthRps = median(health.map((r) => r.rps))
    const meRps = median(me.map((r) => r.rps))
    const mintRps = median(mint.map((r) => r.rps))
    const failures = [...me, ...mint].reduce((n, r) => n + r.non2xx, 0)
    report('tokens.http-identity-me-vs-healthz (B2)', {
      healthRps: Math.round(healthRps),
      identityMeRps: Math.round(meRps),
      ratio: +(meRps / healthRps).toFixed(3),
      p99Ms: median(me.map((r) => r.p99)),
      failures,
      target: 0.85,
      met: meRps / healthRps >= 0.85 && failures === 0,
    })
    report('tokens.mint-http (B8)', { tokensPerSecond: Math.round(mintRps), p99Ms: median(mint.map((r) => r.p99)), target: 4000, met: mintRps >= 4000 })
  } finally {
    await server.stop()
  }
}

async function firstSeen() {
  const parley = await createParley(loadConfig({ PARLEY_DATABASE_URL: 'sqlite::memory:', PARLEY_ADMIN_KEY: 'x'.repeat(40), PARLEY_LOG_LEVEL: 'silent' }))
  try {
    const { tenant } = await parley.services.tenants.create({ name: 'Bench', plan: 'pro' })
    const scope = { tenant: { id: tenant.id }, environment: 'live' }
    await parley.services.users.upsert(scope, { id: 'bench-user' })
    const rates = []
    for (let run = 0; run < RUNS; run++) {
      const tokens = []
      for (let i = 0; i < 4000; i++) {
        tokens.push((await parley.services.tokens.mint({ tenantId: tenant.id, environment: 'live', userId: 'bench-user', kind: 'user', expiresInSeconds: 3600 })).token)
      }
      const started = process.hrtime.bigint()
      for (const token of tokens) await parley.services.tokens.verify(token)
      rates.push(tokens.length / (Number(process.hrtime.bigint() - started) / 1e9))
    }
    const rate = median(rates)
    report('tokens.first-seen-verify-in-process (B2)', { verificationsPerSecond: Math.round(rate), target: 3500, met: rate >= 3500 })
  } finally {
    await parley.close()
  }
}

await firstSeen()
await http()
