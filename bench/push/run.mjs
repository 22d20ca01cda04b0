// B10: push notifications, to local provider stand-ins in this process (stand-ins.mjs: HTTP/2 h2c
// for APNs through PARLEY_APNS_URL, HTTP/1.1 for FCM through PARLEY_FCM_URL and the service
// account's token_uri). Two parts:
//   burst:     a message to a 1,000-member group whose members have one device each and no socket:
//              999 notifications (the sender gets none). notifications/s = 999 / (the 999th arrival
//              at the stand-in − the send's response), BENCH_RUNS messages after one uncounted
//              (the server's first, reported as `cold`), median. APNs, then the same for FCM with
//              another 1,000 users (`--no-fcm` skips it). Target ≥ 2,000/s.
//   send path: B3's send load (bench/messages: session tokens, 50 connections, 10 two-member
//              conversations, SQLite) without push configured and with it — the receiving member of
//              each conversation has an APNs device and no socket, so with push every message is a
//              notification — each phase on a fresh server, BENCH_RUNS pairs, medians. Target: the
//              p99 with push within noise of the p99 without (ratio ≤ 1.25: B3's p99 moves by that
//              much between identical runs on this shared machine); also the notifications/s the
//              stand-in saw during the loaded run, the messages not yet notified when it ended, and
//              how long after it every message had its notification (`drainMs`, waited for at most 30 s).
//              The stand-in shares this process's core with autocannon, so its own work is counted
//              against push.
// `--postgres` runs both on PostgreSQL (a database per server). Per-user limits are raised: this
// measures the work, not the limiter's 429s.
// Run: npm run build && taskset -c 1 node bench/push/run.mjs [--postgres] [--no-fcm]
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { median, report } from '../lib/load.mjs'
import { createDatabase } from '../lib/postgres.mjs'
import { createBenchTenant, startServer } from '../lib/server.mjs'
import { startApnsStandIn, startFcmStandIn } from './stand-ins.mjs'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const postgres = process.argv.includes('--postgres')
const withFcm = !process.argv.includes('--no-fcm')
const GROUP = 1000
/** A burst that has not fully arrived by then has failed (a push path that does not work). */
const BURST_TIMEOUT_MS = 60_000
/** How long after a burst's last arrival its outcomes are surely written (for its CPU figure). */
const OUTCOMES_SETTLE_MS = 300
/** How long the run with push waits after the load for every message's notification. */
const DRAIN_TIMEOUT_MS = 30_000
/** Setup requests in flight at once (users and devices). */
const SETUP_CONCURRENCY = 16
const TARGETS = { notificationsPerSecond: 2000, fcmNotificationsPerSecond: 2000, sendP99Ratio: 1.25 }

const pem = (privateKey) => privateKey.export({ type: 'pkcs8', format: 'pem' })
/** A tenant's APNs settings: a fresh .p8 key (EC P-256); development (sandbox) builds. */
const apnsSettings = () => ({
  teamId: 'BENCHTEAM1',
  keyId: 'BENCHKEY01',
  privateKey: pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey),
  bundleId: 'com.example.parleybench',
  production: false,
})
/** A Google service account key file, as far as FCM needs it, with the stand-in as token endpoint. */
const fcmSettings = (tokenUri) => ({
  serviceAccount: {
    project_id: 'parley-bench',
    client_email: 'bench@parley-bench.iam.gserviceaccount.com',
    private_key: pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
    token_uri: tokenUri,
  },
})
const deviceToken = (provider) => (provider === 'apns' ? randomBytes(32).toString('hex') : `bench:${randomBytes(24).toString('base64url')}`)

/** Runs `work` over `items`, SETUP_CONCURRENCY at a time. */
async function eachLimited(items, work) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++])
  }
  await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, worker))
}

/** A fresh server (and, with --postgres, database) with the stand-ins as providers. */
async function freshServer(env) {
  const database = postgres ? await createDatabase() : null
  let server = null
  const stop = async () => {
    await server?.stop()
    await database?.drop()
  }
  try {
    server = await startServer({
      ...(database && { PARLEY_DATABASE_URL: database.url }),
      PARLEY_APNS_URL: apns.url,
      PARLEY_FCM_URL: fcm?.url ?? 'http://127.0.0.1:9',
      // The FCM token_uri is on 127.0.0.1: it follows the webhook address rules.
      PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true',
      ...env,
    })
    const tenant = await createBenchTenant(server)
    return { server, key: tenant.keys.live.key, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** GROUP users with one `provider` device each, in one group conversation of them all. */
async function bigGroup(server, key, prefix, provider) {
  const ids = Array.from({ length: GROUP }, (_, i) => `${prefix}${i}`)
  await eachLimited(ids, async (id) => {
    await server.call('POST', '/v1/users', { auth: key, body: { id, displayName: `Member ${id}` } })
    await server.call('POST', `/v1/users/${id}/devices`, { auth: key, body: { provider, token: deviceToken(provider) } })
  })
  const conversation = await server.call('POST', '/v1/conversations', { auth: key, body: { type: 'group', name: `Everyone (${provider})`, members: ids } })
  return { id: conversation.id, sender: ids[0] }
}

/**
 * The CPU time (user + system, ms) the server process has used, from /proc (Linux), or null. Unlike
 * a profile's samples (wall time), it does not grow when the shared machine's other work delays it.
 */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name), in clock ticks (100 a second).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return null
  }
}

/**
 * One message to the group; from its response to the last of its GROUP − 1 notifications at
 * `arrivals`. `cpuMsPerNotification`: the server's CPU from before the send until its outcomes
 * were written (OUTCOMES_SETTLE_MS after the last arrival), over GROUP − 1 (the send included).
 */
async function burst(server, key, group, arrivals) {
  await queueEmpty(server)
  const cpuBefore = cpuMsOf(server.pid)
  const postedAt = Date.now()
  const message = await server.call('POST', `/v1/conversations/${group.id}/messages`, {
    auth: key,
    body: { text: 'The benchmark says hello to every member of this group.', senderId: group.sender },
  })
  const sentAt = Date.now()
  const times = (await arrivals.until(message.id, GROUP - 1, BURST_TIMEOUT_MS)).sort((a, b) => a - b)
  const lastMs = Math.max(1, times[GROUP - 2] - sentAt)
  // The outcomes are written within tens of ms; polling /metrics meanwhile would count its own CPU.
  await new Promise((resolve) => setTimeout(resolve, OUTCOMES_SETTLE_MS))
  const cpuAfter = cpuMsOf(server.pid)
  const cpuMsPerNotification = cpuBefore === null || cpuAfter === null ? null : Math.round(((cpuAfter - cpuBefore) / (GROUP - 1)) * 1000) / 1000
  // sendMs: the group message's own response time (its pushes are queued after it, off its path).
  return { notificationsPerSecond: Math.round(((GROUP - 1) * 1000) / lastMs), sendMs: sentAt - postedAt, firstMs: times[0] - sentAt, lastMs, cpuMsPerNotification }
}

async function burstPart() {
  const { server, key, stop } = await freshServer({})
  try {
    await server.call('PUT', '/v1/push/providers/apns', { auth: key, body: apnsSettings() })
    if (fcm) await server.call('PUT', '/v1/push/providers/fcm', { auth: key, body: fcmSettings(fcm.tokenUri) })
    const apnsGroup = await bigGroup(server, key, 'a', 'apns')
    const fcmGroup = fcm && (await bigGroup(server, key, 'f', 'fcm'))
    // The first burst of a fresh server compiles its code paths and statements: reported on its
    // own (`cold`), not in the medians, as a server in service has sent pushes before.
    const cold = { apns: await burst(server, key, apnsGroup, apns.arrivals), fcm: fcmGroup ? await burst(server, key, fcmGroup, fcm.arrivals) : null }
    const apnsRuns = []
    const fcmRuns = []
    for (let i = 0; i < RUNS; i++) {
      apnsRuns.push(await burst(server, key, apnsGroup, apns.arrivals))
      if (fcmGroup) fcmRuns.push(await burst(server, key, fcmGroup, fcm.arrivals))
    }
    return { cold, apnsRuns, fcmRuns }
  } finally {
    await stop()
  }
}

/** Pending push attempts, from GET /metrics. */
async function pushQueueDepth(server) {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.adminKey}` } })).text()
  return Number(/^parley_delivery_queue_depth\{kind="push"\} (\d+)/m.exec(text)?.[1] ?? 0)
}

/** Waits until every push attempt is written (the previous burst's outcomes), so bursts do not overlap. */
async function queueEmpty(server) {
  const started = Date.now()
  while ((await pushQueueDepth(server)) > 0) {
    if (Date.now() - started > BURST_TIMEOUT_MS) throw new Error('the push queue did not empty')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** B3's send load on a fresh server, with or without APNs configured for the tenant. */
async function sendPhase(withPush) {
  const { server, key, stop } = await freshServer({ PARLEY_USER_RATE_LIMIT: '100000000/60', PARLEY_USER_MESSAGE_RATE_LIMIT: '100000000/60' })
  try {
    if (withPush) await server.call('PUT', '/v1/push/providers/apns', { auth: key, body: apnsSettings() })
    const sends = []
    for (let c = 0; c < 10; c++) {
      const [sender, receiver] = [`s${c}a`, `s${c}b`]
      for (const id of [sender, receiver]) await server.call('POST', '/v1/users', { auth: key, body: { id } })
      // In both phases, so that the provider is the only difference: without one, nothing is pushed.
      await server.call('POST', `/v1/users/${receiver}/devices`, { auth: key, body: { provider: 'apns', token: deviceToken('apns') } })
      const { token } = await server.call('POST', '/v1/auth/token', { auth: key, body: { userId: sender } })
      const conversation = await server.call('POST', '/v1/conversations', { auth: token, body: { type: 'direct', members: [receiver] } })
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
      sends.push({ method: 'POST', path: `/v1/conversations/${conversation.id}/messages`, headers, body: JSON.stringify({ text: 'hello from the benchmark' }) })
    }
    let next = 0
    const from = Date.now()
    const result = await autocannon({
      url: server.url,
      connections: 50,
      duration: SECONDS,
      requests: [{ setupRequest: (request) => ({ ...request, ...sends[next++ % sends.length] }) }],
    })
    const to = Date.now()
    const figures = {
      messagesPerSecond: Math.round(result.requests.average),
      p99Ms: result.latency.p99,
      failures: result.non2xx + result.errors,
      notificationsPerSecond: Math.round((apns.arrivals.between(from, to) * 1000) / (to - from)),
    }
    if (!withPush) return figures
    // What the load left behind, and how long the server takes to catch up: one notification per message.
    const notifiedDuringLoad = apns.arrivals.between(from, to)
    // Exactly how many messages were stored (autocannon does not count the answers in flight when it stops).
    const lastSeqs = await Promise.all(sends.map(async ({ path }) => (await server.call('GET', `${path}?limit=1`, { auth: key })).data[0]?.seq ?? 0))
    const sent = lastSeqs.reduce((sum, seq) => sum + seq, 0)
    while (apns.arrivals.between(from, Infinity) < sent && Date.now() - to < DRAIN_TIMEOUT_MS) await new Promise((resolve) => setTimeout(resolve, 50))
    const notified = apns.arrivals.between(from, Infinity)
    return { ...figures, behindAtEnd: sent - notifiedDuringLoad, messagesSent: sent, notified, drainMs: notified >= sent ? Date.now() - to : null }
  } finally {
    await stop()
  }
}

const apns = await startApnsStandIn()
const fcm = withFcm ? await startFcmStandIn() : null
try {
  const { cold, apnsRuns, fcmRuns } = await burstPart()
  const without = []
  const withPush = []
  for (let i = 0; i < RUNS; i++) {
    without.push(await sendPhase(false))
    withPush.push(await sendPhase(true))
  }
  const notificationsPerSecond = median(apnsRuns.map((r) => r.notificationsPerSecond))
  const fcmNotificationsPerSecond = fcm ? median(fcmRuns.map((r) => r.notificationsPerSecond)) : null
  const cpuMsPerNotification = apnsRuns.some((r) => r.cpuMsPerNotification === null) ? null : median(apnsRuns.map((r) => r.cpuMsPerNotification))
  const p99Without = median(without.map((r) => r.p99Ms))
  const p99With = median(withPush.map((r) => r.p99Ms))
  const sendP99Ratio = Math.round((p99With / p99Without) * 100) / 100
  const failures = [...without, ...withPush].reduce((n, r) => n + r.failures, 0)
  const duplicates = apns.arrivals.duplicates + (fcm?.arrivals.duplicates ?? 0)
  const refused = apns.refused + (fcm?.refused ?? 0)
  report(`push.${postgres ? 'postgres' : 'sqlite'} (B10)`, {
    notificationsPerSecond,
    // The server's CPU per APNs notification of a burst (median; null where /proc is missing).
    cpuMsPerNotification,
    fcmNotificationsPerSecond,
    // The first burst of each fresh server (not in the medians).
    coldNotificationsPerSecond: { apns: cold.apns.notificationsPerSecond, fcm: cold.fcm?.notificationsPerSecond ?? null },
    sendWithoutPush: { messagesPerSecond: median(without.map((r) => r.messagesPerSecond)), p99Ms: p99Without },
    sendWithPush: {
      messagesPerSecond: median(withPush.map((r) => r.messagesPerSecond)),
      p99Ms: p99With,
      notificationsPerSecond: median(withPush.map((r) => r.notificationsPerSecond)),
      // Messages whose notification had not arrived when the load ended (pushes fall behind while sends go first).
      behindAtEnd: median(withPush.map((r) => r.behindAtEnd)),
      // From the end of the load until every message had its notification (null: not within 30 s).
      drainMs: withPush.some((r) => r.drainMs === null) ? null : median(withPush.map((r) => r.drainMs)),
    },
    sendP99Ratio,
    // The noise the ratio is read against: the spread of the p99 between the runs without push.
    withoutPushP99Spread: [Math.min(...without.map((r) => r.p99Ms)), Math.max(...without.map((r) => r.p99Ms))],
    // One per server with APNs configured (1 + BENCH_RUNS) while each reuses its HTTP/2 session.
    apnsSessionsOpened: apns.sessionsOpened,
    fcmTokenExchanges: fcm?.tokenExchanges ?? null,
    failures,
    duplicates,
    refused,
    perRun: { apns: apnsRuns, fcm: fcmRuns, sendWithoutPush: without, sendWithPush: withPush },
    targets: withFcm ? TARGETS : { ...TARGETS, fcmNotificationsPerSecond: undefined },
    met:
      notificationsPerSecond >= TARGETS.notificationsPerSecond &&
      (!fcm || fcmNotificationsPerSecond >= TARGETS.fcmNotificationsPerSecond) &&
      sendP99Ratio <= TARGETS.sendP99Ratio &&
      failures === 0 &&
      withPush.every((r) => r.notified >= r.messagesSent) &&
      duplicates === 0 &&
      refused === 0,
  })
} finally {
  await apns.close()
  await fcm?.close()
}
