// B7: webhook deliveries to a loopback receiver (in this process). Messages are POSTed over HTTP
// into 200 conversations, each a `message.created` event for one endpoint; deliveries in a
// conversation go out one at a time, in order, as in production. Three phases:
//   backlog:   BACKLOG events the receiver first refuses (503, Retry-After: 1 h); then, through the
//              API, the endpoint is disabled and enabled and `recover` queues them all again, due at
//              once. deliveries/s = BACKLOG / (last delivery − first delivery): the delivery path
//              with the server's core to itself. This is the B7 throughput figure.
//   sustained: MESSAGES sends as fast as the server takes them (32 connections) while it delivers;
//              MESSAGES / (last delivery − first delivery), ingest and delivery sharing one core.
//   latency:   sends paced at 100/s; from the event's creation (inside the sending transaction, so
//              a little before its commit) to the receiver reading the request.
// Targets: ≥ 2,000 deliveries/s and a median commit → first attempt ≤ 50 ms. `--postgres` runs the
// same on PostgreSQL. Every figure is the median of BENCH_RUNS runs, each on a fresh server.
// Run: npm run build && taskset -c 1 node bench/webhooks/run.mjs [--postgres]
import http from 'node:http'
import autocannon from 'autocannon'
import { median, report } from '../lib/load.mjs'
import { createDatabase } from '../lib/postgres.mjs'
import { createBenchTenant, startServer } from '../lib/server.mjs'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const BACKLOG = Number(process.env.BENCH_WEBHOOK_BACKLOG ?? 10_000)
const MESSAGES = Number(process.env.BENCH_WEBHOOK_MESSAGES ?? 10_000)
const PACED = 500
const CONVERSATIONS = 200
const postgres = process.argv.includes('--postgres')

/** A receiver that answers at once (204, or 503 while refusing) and notes when each request arrived. */
async function startReceiver() {
  let arrivals = []
  let ids = new Set()
  let waiter = null
  const receiver = {
    url: '',
    refusing: false,
    /** Forgets what arrived so far: each phase counts its own. */
    reset() {
      arrivals = []
      ids = new Set()
    },
    get arrivals() {
      return arrivals
    },
    /** Resolves once `count` distinct events have arrived since the last reset. */
    until(count) {
      return new Promise((resolve) => {
        waiter = { count, resolve }
        if (ids.size >= count) resolve()
      })
    },
  }
  const server = http.createServer((request, response) => {
    const chunks = []
    request.on('data', (chunk) => chunks.push(chunk))
    request.on('end', () => {
      const at = Date.now()
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      arrivals.push({ at, createdAt: Date.parse(body.timestamp), id: request.headers['webhook-id'] })
      ids.add(request.headers['webhook-id'])
      if (receiver.refusing) response.writeHead(503, { 'retry-after': '3600' }).end()
      else response.writeHead(204).end()
      if (waiter && ids.size >= waiter.count) waiter.resolve()
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${server.address().port}/hook`
  receiver.close = () => new Promise((resolve) => server.close(resolve))
  return receiver
}

/** Events per second between the first and the last arrival of a phase. */
const rateOf = (arrivals) => {
  const times = arrivals.map((a) => a.at)
  return Math.round(arrivals.length / ((Math.max(...times) - Math.min(...times)) / 1000))
}

/** Pending webhook attempts, from GET /metrics. */
async function queueDepth(server) {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.adminKey}` } })).text()
  return Number(/^parley_delivery_queue_depth\{kind="webhook"\} (\d+)/m.exec(text)?.[1] ?? 0)
}

async function send(server, sends, count) {
  let next = 0
  const result = await autocannon({
    url: server.url,
    connections: 32,
    amount: count,
    requests: [{ setupRequest: (request) => ({ ...request, ...sends[next++ % sends.length] }) }],
  })
  return { ingestPerSecond: Math.round(result.requests.average), failures: result.non2xx + result.errors }
}

async function oneRun() {
  const database = postgres ? await createDatabase() : null
  const receiver = await startReceiver()
  const server = await startServer({
    ...(database && { PARLEY_DATABASE_URL: database.url }),
    PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true',
    PARLEY_USER_RATE_LIMIT: '100000000/60',
    PARLEY_USER_MESSAGE_RATE_LIMIT: '100000000/60',
  })
  try {
    const tenant = await createBenchTenant(server)
    const key = tenant.keys.live.key
    const auth = { auth: key }
    const endpoint = await server.call('POST', '/v1/webhooks', { ...auth, body: { url: receiver.url, events: ['message.created'] } })
    const sends = []
    for (let c = 0; c < CONVERSATIONS; c++) {
      const members = [`w${c}a`, `w${c}b`]
      for (const id of members) await server.call('POST', '/v1/users', { ...auth, body: { id } })
      const conversation = await server.call('POST', '/v1/conversations', { ...auth, body: { type: 'group', members } })
      sends.push({
        method: 'POST',
        path: `/v1/conversations/${conversation.id}/messages`,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'hello, webhook', senderId: members[0] }),
      })
    }

    // Backlog: refused first, then recovered all at once.
    receiver.refusing = true
    const refused = receiver.until(BACKLOG)
    const backlogIngest = await send(server, sends, BACKLOG)
    await refused
    // Every refusal written (each event has its retry pending) before the endpoint is disabled.
    while ((await queueDepth(server)) < BACKLOG) await new Promise((resolve) => setTimeout(resolve, 100))
    await server.call('PATCH', `/v1/webhooks/${endpoint.id}`, { ...auth, body: { enabled: false } })
    await server.call('PATCH', `/v1/webhooks/${endpoint.id}`, { ...auth, body: { enabled: true } })
    receiver.refusing = false
    receiver.reset()
    const recovered = receiver.until(BACKLOG)
    const { count } = await server.call('POST', `/v1/webhooks/${endpoint.id}/recover`, { ...auth, body: { since: new Date(Date.now() - 3600_000).toISOString() } })
    await recovered
    const deliveriesPerSecond = rateOf(receiver.arrivals)

    // Sustained: sends and deliveries at once.
    receiver.reset()
    const delivered = receiver.until(MESSAGES)
    const ingest = await send(server, sends, MESSAGES)
    await delivered
    const sustainedPerSecond = rateOf(receiver.arrivals)

    // Latency, at a pace the server meets with room to spare.
    receiver.reset()
    const pacedDone = receiver.until(PACED)
    for (let i = 0; i < PACED; i++) {
      const { path, body } = sends[i % sends.length]
      // Headers of its own: autocannon added a content-length to the shared ones.
      await fetch(server.url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body })
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await pacedDone
    const latencies = receiver.arrivals.map((a) => a.at - a.createdAt).sort((a, b) => a - b)
    return {
      deliveriesPerSecond,
      recovered: count,
      sustainedPerSecond,
      ingestPerSecond: ingest.ingestPerSecond,
      failures: ingest.failures + backlogIngest.failures,
      medianMs: latencies[Math.floor(latencies.length / 2)],
      p99Ms: latencies[Math.floor(latencies.length * 0.99)],
      duplicates: receiver.arrivals.length - new Set(receiver.arrivals.map((a) => a.id)).size,
    }
  } finally {
    await server.stop()
    await receiver.close()
    await database?.drop()
  }
}

const runs = []
for (let i = 0; i < RUNS; i++) runs.push(await oneRun())
const deliveriesPerSecond = median(runs.map((r) => r.deliveriesPerSecond))
const medianMs = median(runs.map((r) => r.medianMs))
const failures = runs.reduce((n, r) => n + r.failures, 0)
report(`webhooks.${postgres ? 'postgres' : 'sqlite'} (B7)`, {
  deliveriesPerSecond,
  commitToFirstAttemptMedianMs: medianMs,
  commitToFirstAttemptP99Ms: median(runs.map((r) => r.p99Ms)),
  sustainedDeliveriesPerSecond: median(runs.map((r) => r.sustainedPerSecond)),
  sustainedIngestPerSecond: median(runs.map((r) => r.ingestPerSecond)),
  failures,
  perRun: runs,
  targets: { deliveriesPerSecond: 2000, commitToFirstAttemptMedianMs: 50 },
  met: deliveriesPerSecond >= 2000 && medianMs <= 50 && failures === 0 && runs.every((r) => r.recovered === BACKLOG),
})
