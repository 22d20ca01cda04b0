// B3: messages through HTTP with session tokens — 50 connections spread over 10 conversations —
// then history reads (the latest 50 messages). Targets on SQLite: ≥ 8,000 messages/s with p99
// ≤ 20 ms, ≥ 4,000 history reads/s. `--postgres` runs the same on a fresh PostgreSQL database.
// Per-user limits are raised for the run: this measures the write path, not the limiter's 429s.
// Run: npm run build && taskset -c 1 node bench/messages/run.mjs [--postgres]
import autocannon from 'autocannon'
import { median, report } from '../lib/load.mjs'
import { createDatabase } from '../lib/postgres.mjs'
import { createBenchTenant, startServer } from '../lib/server.mjs'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const postgres = process.argv.includes('--postgres')

/** autocannon over a rotating set of requests, one per conversation. */
async function rotating(url, requests) {
  let next = 0
  const result = await autocannon({
    url,
    connections: 50,
    duration: SECONDS,
    requests: [{ setupRequest: (request) => ({ ...request, ...requests[next++ % requests.length] }) }],
  })
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx + result.errors }
}

const database = postgres ? await createDatabase() : null
const server = await startServer({
  ...(database && { PARLEY_DATABASE_URL: database.url }),
  PARLEY_USER_RATE_LIMIT: '100000000/60',
  PARLEY_USER_MESSAGE_RATE_LIMIT: '100000000/60',
})
try {
  const tenant = await createBenchTenant(server)
  const key = tenant.keys.live.key
  const sends = []
  const reads = []
  for (let c = 0; c < 10; c++) {
    const members = [`u${c}a`, `u${c}b`]
    for (const id of members) await server.call('POST', '/v1/users', { auth: key, body: { id } })
    const { token } = await server.call('POST', '/v1/auth/token', { auth: key, body: { userId: members[0] } })
    const conversation = await server.call('POST', '/v1/conversations', { auth: token, body: { type: 'direct', members: [members[1]] } })
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    sends.push({ method: 'POST', path: `/v1/conversations/${conversation.id}/messages`, headers, body: JSON.stringify({ text: 'hello from the benchmark' }) })
    reads.push({ method: 'GET', path: `/v1/conversations/${conversation.id}/messages?limit=50`, headers: { authorization: `Bearer ${token}` } })
  }
  const sendRuns = []
  const readRuns = []
  for (let i = 0; i < RUNS; i++) {
    sendRuns.push(await rotating(server.url, sends))
    readRuns.push(await rotating(server.url, reads))
  }
  const failures = [...sendRuns, ...readRuns].reduce((n, r) => n + r.non2xx, 0)
  const messagesPerSecond = median(sendRuns.map((r) => r.rps))
  const p99 = median(sendRuns.map((r) => r.p99))
  const readsPerSecond = median(readRuns.map((r) => r.rps))
  report(`messages.http-${postgres ? 'postgres' : 'sqlite'} (B3)`, {
    messagesPerSecond: Math.round(messagesPerSecond),
    sendP99Ms: p99,
    historyReadsPerSecond: Math.round(readsPerSecond),
    historyP99Ms: median(readRuns.map((r) => r.p99)),
    failures,
    targets: { messagesPerSecond: 8000, sendP99Ms: 20, historyReadsPerSecond: 4000 },
    met: messagesPerSecond >= 8000 && p99 <= 20 && readsPerSecond >= 4000 && failures === 0,
  })
} finally {
  await server.stop()
  await database?.drop()
}
