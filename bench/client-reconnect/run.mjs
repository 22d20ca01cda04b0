// Client reconnect after a server restart: 1,000 @parley/client clients (the built SDK, in this
// process: pin it with `taskset -c 1`), each a user in one of 100 conversations of 10, connected
// to one Parley (the built CLI, pinned to CPU 0, SQLite on disk). The server is restarted on the
// same port — gracefully (SIGTERM: sockets closed with 1012) and by a crash (SIGKILL) — and right
// after the new process answers /readyz one message is POSTed to every conversation. A client
// counts as resumed when it is open again and has that message, which reaches it live or in the
// replay of its `resume`. Reported per mode (median of BENCH_RUNS runs, default 3):
//  - fromSignalMs / fromReadyMs: from the signal (or the new server's readiness) to the last client resumed;
//  - p50ReconnectMs: the median client's wait from the signal;
//  - attemptsPerClient: sockets each client opened, failed ones included (the cost of the backoff);
//  - peakOpensPerSecond: the most clients that came back within one second once the server was
//    ready (the spread: all of them at once would be a thundering herd);
//  - refused: upgrades answered 401/403/429 and sockets closed 4001/4002/4003/4008 (the target is 0);
//  - exact: every client got every message once, in order (before the restart, the post-restart one, one more after).
// The clients connect from 50 loopback addresses (127.0.1.1–50), 20 each, as clients of a real
// deployment come from many: Parley's per-address limits stay on.
// Run: npm run build && taskset -c 1 node bench/client-reconnect/run.mjs [--clients 1000]
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { Parley } from '../../packages/client/dist/index.js'
import { median, report } from '../lib/load.mjs'
import { createBenchTenant, freePort, parleyProcess } from '../lib/server.mjs'

const argument = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const CLIENTS = Number(argument('--clients', 1000))
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const MEMBERS = 10
const ADDRESSES = 50
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Counts what every socket of the run met: attempts (by time), refused upgrades and close codes. */
function socketCounter() {
  const counts = { attempts: [], upgradeRefusals: {}, closeCodes: {} }
  let next = 0
  class CountedWebSocket extends WebSocket {
    constructor(url) {
      // Clients spread over loopback addresses, as a deployment's clients come from many.
      super(url, { localAddress: `127.0.1.${1 + (next++ % ADDRESSES)}` })
      counts.attempts.push(performance.now())
      this.on('error', (error) => {
        const status = /Unexpected server response: (\d+)/.exec(error.message)?.[1]
        if (status) counts.upgradeRefusals[status] = (counts.upgradeRefusals[status] ?? 0) + 1
      })
      this.on('close', (code) => (counts.closeCodes[code] = (counts.closeCodes[code] ?? 0) + 1))
    }
  }
  return { CountedWebSocket, counts }
}

async function setUp() {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-reconnect-'))
  const server = parleyProcess({ port: await freePort(), dir, adminKey: randomBytes(24).toString('hex') })
  await server.start()
  const { keys } = await createBenchTenant(server)
  const key = keys.live.key
  const users = Array.from({ length: CLIENTS }, (_, i) => `u${i}`)
  const tokens = new Map()
  // 20 calls at a time here and below: they all come from 127.0.0.1, which may hold 100 connections.
  for (let i = 0; i < users.length; i += 20) {
    await Promise.all(
      users.slice(i, i + 20).map(async (id) => {
        await server.call('POST', '/v1/users', { auth: key, body: { id } })
        tokens.set(id, (await server.call('POST', '/v1/auth/token', { auth: key, body: { userId: id, expiresIn: 3600 } })).token)
      }),
    )
  }
  const conversations = []
  for (let i = 0; i < users.length; i += MEMBERS) {
    const members = users.slice(i, i + MEMBERS)
    conversations.push({ id: (await server.call('POST', '/v1/conversations', { auth: key, body: { type: 'group', members } })).id, members })
  }
  return { dir, server, key, users, tokens, conversations }
}

/** One restart with fresh clients: returns the run's figures. */
async function run({ server, key, users, tokens, conversations }, signal) {
  const { CountedWebSocket, counts } = socketCounter()
  const conversationOf = new Map(conversations.flatMap(({ id, members }) => members.map((user) => [user, id])))
  const clients = users.map((user) => {
    const parley = new Parley({ apiUrl: server.url, tokenProvider: () => tokens.get(user), WebSocket: CountedWebSocket })
    const client = { user, parley, texts: [], openedAt: 0, resumedAt: 0, expect: null }
    parley.on('message.created', ({ data }) => {
      client.texts.push(data.text)
      if (data.text === client.expect && client.openedAt) client.resumedAt ||= performance.now()
    })
    parley.on('state', (state) => {
      if (state === 'open') client.openedAt = performance.now()
      if (state === 'reconnecting') client.openedAt = 0
    })
    return client
  })
  // Each client starts following its conversation where it is now, then connects.
  for (let i = 0; i < clients.length; i += 20) {
    await Promise.all(clients.slice(i, i + 20).map(async (c) => (await c.parley.conversations.get(conversationOf.get(c.user)), await c.parley.connect())))
  }
  const post = async (text) => {
    for (let i = 0; i < conversations.length; i += 20) {
      const batch = conversations.slice(i, i + 20)
      await Promise.all(batch.map(({ id, members }) => server.call('POST', `/v1/conversations/${id}/messages`, { auth: key, body: { senderId: members[0], text } })))
    }
  }
  const everyoneHas = async (text, timeoutMs) => {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(20)) if (clients.every((c) => c.texts.includes(text))) return true
    return false
  }
  await post('before')
  await everyoneHas('before', 10_000)
  counts.attempts.length = 0
  for (const c of clients) c.expect = 'after restart'

  const signalledAt = performance.now()
  await server.stop(signal)
  const stoppedAt = performance.now()
  await server.start()
  const readyAt = performance.now()
  await post('after restart')
  const allResumed = async () => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(20)) if (clients.every((c) => c.resumedAt)) return true
    return false
  }
  const resumed = await allResumed()
  await post('after resume')
  const delivered = await everyoneHas('after resume', 10_000)
  const exact = resumed && delivered && clients.every((c) => c.texts.join('|') === 'before|after restart|after resume')
  await Promise.all(clients.map((c) => c.parley.close()))

  const waits = clients.map((c) => c.resumedAt - signalledAt).sort((a, b) => a - b)
  const opensPerSecond = new Map()
  for (const { openedAt } of clients) {
    const second = Math.floor((openedAt - readyAt) / 1000)
    opensPerSecond.set(second, (opensPerSecond.get(second) ?? 0) + 1)
  }
  const refusedCodes = [4001, 4002, 4003, 4008]
  return {
    fromSignalMs: Math.round(waits.at(-1)),
    fromReadyMs: Math.round(waits.at(-1) - (readyAt - signalledAt)),
    restartMs: Math.round(readyAt - signalledAt),
    stopMs: Math.round(stoppedAt - signalledAt),
    p50ReconnectMs: Math.round(waits[Math.floor(waits.length / 2)]),
    attemptsPerClient: Math.round((counts.attempts.length / clients.length) * 10) / 10,
    peakOpensPerSecond: Math.max(...opensPerSecond.values()),
    refused: Object.values(counts.upgradeRefusals).reduce((a, b) => a + b, 0) + refusedCodes.reduce((sum, code) => sum + (counts.closeCodes[code] ?? 0), 0),
    upgradeRefusals: counts.upgradeRefusals,
    closeCodes: counts.closeCodes,
    exact,
  }
}

const setup = await setUp()
try {
  for (const signal of ['SIGTERM', 'SIGKILL']) {
    const runs = []
    for (let i = 0; i < RUNS; i++) runs.push(await run(setup, signal))
    const pick = (name) => median(runs.map((r) => r[name]))
    const refused = runs.reduce((sum, r) => sum + r.refused, 0)
    const exact = runs.every((r) => r.exact)
    report(`client reconnect after ${signal}`, {
      clients: CLIENTS,
      fromSignalMs: pick('fromSignalMs'),
      fromReadyMs: pick('fromReadyMs'),
      restartMs: pick('restartMs'),
      stopMs: pick('stopMs'),
      p50ReconnectMs: pick('p50ReconnectMs'),
      attemptsPerClient: pick('attemptsPerClient'),
      peakOpensPerSecond: pick('peakOpensPerSecond'),
      refused,
      exact,
      target: 'every client resumed, each message once and in order; no upgrade refused (401/403/429) and no socket closed 4001–4003/4008',
      met: exact && refused === 0,
      perRun: runs,
    })
  }
} finally {
  await setup.server.stop('SIGTERM')
  rmSync(setup.dir, { recursive: true, force: true })
}
