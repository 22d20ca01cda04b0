// B3: messages through HTTP with session tokens — 50 connections spread over 10 conversations —
// then history reads of 50 messages: the latest page of each conversation, read again and again
// (what opening a conversation does; served by the history cache once read), and pages that are
// never read twice (every one from storage: the cache's miss path). Targets on SQLite: ≥ 8,000
// messages/s with p99 ≤ 20 ms, ≥ 4,000 history reads/s. `--postgres` runs the same on PostgreSQL.
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

/**
 * History requests for pages ending at every seq of each conversation, interleaved: more distinct
 * pages than a run can read, so none is read twice and each comes from storage.
 */
async function distinctPages(server, reads) {
  const pages = []
  const last = await Promise.all(
    reads.map(async (read) => {
      const res = await fetch(server.url + read.path.replace('limit=50', 'limit=1'), { headers: read.headers })
      return (await res.json()).data[0].seq
    }),
  )
  for (let before = Math.max(...last); before > 50; before--) {
    reads.forEach((read, c) => {
      if (before <= last[c]) pages.push({ ...read, path: `${read.path}&before=${before}` })
    })
  }
  return pages
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
  const coldRuns = []
  for (let i = 0; i < RUNS; i++) {
    sendRuns.push(await rotating(server.url, sends))
    readRuns.push(await rotating(server.url, reads))
    coldRuns.push(await rotating(server.url, await distinctPages(server, reads)))
  }
  const failures = [...sendRuns, ...readRuns, ...coldRuns].reduce((n, r) => n + r.non2xx, 0)
  const messagesPerSecond = median(sendRuns.map((r) => r.rps))
  const p99 = median(sendRuns.map((r) => r.p99))
  const readsPerSecond = median(readRuns.map((r) => r.rps))
  report(`messages.http-${postgres ? 'postgres' : 'sqlite'} (B3)`, {
    messagesPerSecond: Math.round(messagesPerSecond),
    sendP99Ms: p99,
    historyReadsPerSecond: Math.round(readsPerSecond),
    historyP99Ms: median(readRuns.map((r) => r.p99)),
    historyUncachedReadsPerSecond: Math.round(median(coldRuns.map((r) => r.rps))),
    historyUncachedP99Ms: median(coldRuns.map((r) => r.p99)),
    failures,
    targets: { messagesPerSecond: 8000, sendP99Ms: 20, historyReadsPerSecond: 4000 },
    met: messagesPerSecond >= 8000 && p99 <= 20 && readsPerSecond >= 4000 && failures === 0,
  })
} finally {
  await server.stop()
  await database?.drop()
}
