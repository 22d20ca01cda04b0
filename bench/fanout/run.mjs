// B4 / B5: realtime fan-out. Sockets live in a separate client process (pinned to CPU 1), the
// server on CPU 0; messages are POSTed over HTTP with the secret key to conversations of 10
// members. Reports, for 1,000 and 10,000 sockets:
//  - deliveries per second of server CPU time at full speed (utime + stime from /proc/<pid>/stat),
//    HTTP ingest included; target ≥ 33,000;
//  - p50/p99 from POST to receipt at a steady 20,000 deliveries/s (2,000 messages/s); target
//    p99 ≤ 50 ms with every message delivered;
//  - server RSS per idle authenticated socket; target ≤ 12 KB (B5).
// The two load phases run BENCH_RUNS times (default 3) on the same sockets; medians are reported.
// `--redis` runs two server nodes on PostgreSQL + Redis (one public URL, one KEK, as a cluster
// is configured), sockets split across them, POSTs to node A.
// Run: npm run build && node bench/fanout/run.mjs [--sockets 1000,10000] [--redis]
import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { median, report } from '../lib/load.mjs'
import { createDatabase } from '../lib/postgres.mjs'
import { createBenchTenant, hasTaskset, startServer } from '../lib/server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const argument = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const SIZES = argument('--sockets', '1000,10000').split(',').map(Number)
const REDIS = process.argv.includes('--redis')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const MEMBERS = 10
const CLOCK_TICKS = 100 // USER_HZ on Linux

const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS // utime + stime
}
const rssBytes = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024

function clients() {
  const child = fork(join(here, 'clients.mjs'), [], { execArgv: (process.env.BENCH_CLIENT_NODE_ARGS ?? '').split(' ').filter(Boolean), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  if (hasTaskset) import('node:child_process').then(({ spawnSync }) => spawnSync('taskset', ['-cp', '1', String(child.pid)]))
  const ask = (command) =>
    new Promise((resolve) => {
      child.once('message', resolve)
      child.send(command)
    })
  return { ask, child }
}

/** POSTs messages for SECONDS (at `rate` per second if given); resolves with the number accepted. */
async function post(url, requests, rate) {
  let next = 0
  const result = await autocannon({
    url,
    connections: 20,
    duration: SECONDS,
    ...(rate && { overallRate: rate }),
    requests: [
      {
        setupRequest: (request) => {
          const { sender, ...target } = requests[next++ % requests.length]
          return { ...request, ...target, body: JSON.stringify({ text: `t=${Date.now()}`, senderId: sender }) }
        },
      },
    ],
  })
  return result['2xx']
}

async function run(size) {
  const database = REDIS ? await createDatabase() : null
  const shared = {
    PARLEY_USER_RATE_LIMIT: '100000000/60',
    ...(database && { PARLEY_DATABASE_URL: database.url, PARLEY_REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', PARLEY_SIGNING_KEK: Buffer.alloc(32, 7).toString('base64'), PARLEY_PUBLIC_URL: 'http://parley.bench' }),
  }
  const a = await startServer(shared)
  const b = REDIS ? await startServer({ ...shared, PARLEY_ADMIN_KEY: a.adminKey }) : a
  const sockets = clients()
  try {
    const tenant = await createBenchTenant(a)
    const key = tenant.keys.live.key
    const tokens = []
    const requests = []
    for (let c = 0; c < size / MEMBERS; c++) {
      const members = Array.from({ length: MEMBERS }, (_, m) => `u${c}_${m}`)
      await Promise.all(members.map((id) => a.call('POST', '/v1/users', { auth: key, body: { id } })))
      const minted = await Promise.all(members.map((userId) => a.call('POST', '/v1/auth/token', { auth: key, body: { userId, expiresIn: 86400 } })))
      tokens.push(...minted.map((m) => m.token))
      const conversation = await a.call('POST', '/v1/conversations', { auth: key, body: { type: 'group', members } })
      requests.push({ method: 'POST', path: `/v1/conversations/${conversation.id}/messages`, headers: { 'x-api-key': key, 'content-type': 'application/json' }, sender: members[0] })
    }
    const rssBefore = rssBytes(a.pid) + (REDIS ? rssBytes(b.pid) : 0)
    // With two nodes, every other socket connects to node B.
    const half = REDIS ? [tokens.filter((_, i) => i % 2 === 0), tokens.filter((_, i) => i % 2 === 1)] : [tokens]
    await sockets.ask({ type: 'open', url: a.url, tokens: half[0] })
    if (REDIS) await sockets.ask({ type: 'open', url: b.url, tokens: half[1] })
    await new Promise((r) => setTimeout(r, 1000))
    const rssAfter = rssBytes(a.pid) + (REDIS ? rssBytes(b.pid) : 0)
    const perSocket = (rssAfter - rssBefore) / size

    // Full speed: deliveries per server CPU-second. Then a steady 20,000 deliveries/s: latency,
    // and nothing lost. Each RUNS times; the report gives the medians.
    const fullRuns = []
    const steadyRuns = []
    for (let i = 0; i < RUNS; i++) {
      await sockets.ask({ type: 'reset' })
      const cpuBefore = cpuSeconds(a.pid) + (REDIS ? cpuSeconds(b.pid) : 0)
      const accepted = await post(a.url, requests)
      await new Promise((r) => setTimeout(r, 1000))
      const cpu = cpuSeconds(a.pid) + (REDIS ? cpuSeconds(b.pid) : 0) - cpuBefore
      const full = await sockets.ask({ type: 'report' })
      fullRuns.push({ ...full, accepted, perCpuSecond: full.deliveries / cpu })

      await sockets.ask({ type: 'reset' })
      const serverBefore = cpuSeconds(a.pid)
      const clientsBefore = cpuSeconds(sockets.child.pid)
      const steadyAccepted = await post(a.url, requests, 20_000 / MEMBERS)
      const busy = { server: (cpuSeconds(a.pid) - serverBefore) / SECONDS, clients: (cpuSeconds(sockets.child.pid) - clientsBefore) / SECONDS }
      await new Promise((r) => setTimeout(r, 1000))
      steadyRuns.push({ ...(await sockets.ask({ type: 'report' })), accepted: steadyAccepted, busy })
    }
    // autocannon stops counting at the deadline while the last requests still complete, so a few
    // more messages may be delivered than it saw accepted; never fewer.
    const delivered = [...fullRuns, ...steadyRuns].every((r) => r.deliveries >= r.accepted * MEMBERS)
    const perCpuSecond = median(fullRuns.map((r) => r.perCpuSecond))
    const steadyP99 = median(steadyRuns.map((r) => r.p99))
    const steadyRate = median(steadyRuns.map((r) => r.deliveries)) / SECONDS

    report(`fanout.${size}-sockets${REDIS ? '-two-nodes-redis' : ''} (B4, B5)`, {
      sockets: size,
      runs: RUNS,
      deliveriesPerCpuSecond: Math.round(perCpuSecond),
      fullSpeedDeliveriesPerSecond: Math.round(median(fullRuns.map((r) => r.deliveries)) / SECONDS),
      steadyDeliveriesPerSecond: Math.round(steadyRate),
      everyMessageDelivered: delivered,
      steadyP50Ms: median(steadyRuns.map((r) => r.p50)),
      steadyP99Ms: steadyP99,
      rssPerIdleSocketKB: +(perSocket / 1024).toFixed(1),
      perRun: { deliveriesPerCpuSecond: fullRuns.map((r) => Math.round(r.perCpuSecond)), steadyP99Ms: steadyRuns.map((r) => r.p99) },
      // Share of a core each side used during the steady phases: latency is only the server's while the clients keep up.
      steadyCpuShare: { server: steadyRuns.map((r) => +r.busy.server.toFixed(2)), clients: steadyRuns.map((r) => +r.busy.clients.toFixed(2)) },
      targets: { deliveriesPerCpuSecond: 33_000, steadyP99Ms: 50, rssPerIdleSocketKB: 12 },
      met: perCpuSecond >= 33_000 && steadyP99 <= 50 && perSocket / 1024 <= 12 && delivered && steadyRate >= 19_000,
    })
  } finally {
    sockets.child.send({ type: 'close' })
    await a.stop()
    if (REDIS) await b.stop()
    await database?.drop()
  }
}

for (const size of SIZES) await run(size)
