/**
 * Durability as users run Parley: `parley start` processes, killed with SIGKILL while deliveries
 * are in flight. Every event still reaches the receiver, with its id (at least once; exactly once
 * for a receiver that dedupes by webhook-id), after a restart on SQLite, and on PostgreSQL by the
 * other node of a cluster, which never makes an attempt while another node is making it.
 *
 * These start the build in dist/ (`npm run build`).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDurableDatabase, createTestDatabase, postgresUrl } from '../helpers/databases.js'
import { type ParleyProcess, startProcess } from '../helpers/processes.js'
import { type Receiver, startReceiver } from './receiver.js'

const EVENTS = 40
const adminKey = `crash_admin_${randomBytes(16).toString('hex')}`
const cleanup: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

/** A receiver that answers slowly (so attempts are in flight when a node dies) and notes overlaps. */
async function slowReceiver() {
  const inFlight = new Map<string, number>()
  const overlaps: string[] = []
  const processed = new Set<string>()
  const receiver: Receiver = await startReceiver((request) => {
    const id = String(request.headers['webhook-id'])
    if (inFlight.get(id)) overlaps.push(id)
    inFlight.set(id, (inFlight.get(id) ?? 0) + 1)
    // Dedupe by webhook-id, as docs/webhooks.md tells receivers to.
    processed.add(id)
    setTimeout(() => inFlight.set(id, inFlight.get(id)! - 1), 150)
    return { status: 200, delayMs: 150 }
  })
  cleanup.push(() => receiver.close())
  return { receiver, overlaps, processed }
}

async function call(node: ParleyProcess, method: string, path: string, auth: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(node.url + path, {
    method,
    headers: { authorization: `Bearer ${auth}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const json = (await res.json().catch(() => null)) as any
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`)
  return json
}

async function tenantWithEndpoint(node: ParleyProcess, url: string): Promise<string> {
  const created = await call(node, 'POST', '/v1/admin/tenants', adminKey, { name: 'Crash', plan: 'enterprise' })
  const key = created.keys.live.key as string
  await call(node, 'POST', '/v1/webhooks', key, { url, events: ['user.created'] })
  return key
}

const userIdsIn = (receiver: Receiver) => new Set(receiver.received.map((r) => r.body.data.id as string))

/** Every user's event reached the receiver, always under the same webhook-id. */
function expectEveryEventOnceById(receiver: Receiver, processed: Set<string>, count: number) {
  const idOf = new Map<string, string>()
  for (const r of receiver.received) {
    const known = idOf.get(r.body.data.id)
    if (known) expect(r.headers['webhook-id']).toBe(known)
    idOf.set(r.body.data.id, String(r.headers['webhook-id']))
  }
  expect(idOf.size).toBe(count)
  expect(processed.size).toBe(count)
  expect(receiver.received.length).toBeGreaterThanOrEqual(count)
}

const env = (databaseUrl: string, dataDir: string) => ({
  PARLEY_DATABASE_URL: databaseUrl,
  PARLEY_DATA_DIR: dataDir,
  PARLEY_ADMIN_KEY: adminKey,
  PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true',
  // A short deadline keeps the lease (deadline + 10 s) short: that is how long a dead node's attempts wait.
  PARLEY_WEBHOOK_TIMEOUT_MS: '1000',
  PARLEY_WEBHOOK_CONCURRENCY_PER_ENDPOINT: '4',
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-crash-'))
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('a node killed with deliveries pending', () => {
  it('delivers every event after a restart on SQLite, each under its one id', { timeout: 90_000 }, async () => {
    const database = await createDurableDatabase('sqlite')
    cleanup.push(() => database.drop())
    const dir = tempDir()
    const { receiver, processed } = await slowReceiver()
    const first = await startProcess(env(database.url, dir))
    cleanup.push(() => first.kill())
    const key = await tenantWithEndpoint(first, receiver.url)
    for (let i = 0; i < EVENTS; i++) await call(first, 'POST', '/v1/users', key, { id: `crash-${i}` })
    await receiver.waitFor(6, 30_000)
    // Killed with requests unanswered: those attempts were made but never recorded.
    const unanswered = receiver.open
    await first.kill()
    expect(unanswered).toBeGreaterThan(0)
    expect(userIdsIn(receiver).size).toBeLessThan(EVENTS)

    const second = await startProcess(env(database.url, dir))
    cleanup.push(() => second.stop())
    await receiver.waitFor(() => userIdsIn(receiver).size === EVENTS, 60_000)
    // At least once: the attempts the dead node had in flight are made again once their leases
    // run out, with the same ids (a receiver that dedupes processes each event once).
    await receiver.waitFor(EVENTS + unanswered, 30_000)
    expectEveryEventOnceById(receiver, processed, EVENTS)
    // The log agrees: one successful attempt per event.
    const [endpoint] = (await call(second, 'GET', '/v1/webhooks', key)).data
    const log = await waitForLog(second, key, endpoint.id, EVENTS)
    expect(new Set(log.filter((d) => d.status === 'succeeded').map((d) => d.eventId)).size).toBe(EVENTS)
  })
})

describe.runIf(postgresUrl)('two nodes on PostgreSQL', () => {
  it('never attempt one delivery at the same time, and lose nothing when one is killed mid-delivery', { timeout: 90_000 }, async () => {
    const database = await createTestDatabase('postgres')
    cleanup.push(() => database.drop())
    const kek = randomBytes(32).toString('base64')
    const { receiver, overlaps, processed } = await slowReceiver()
    const a = await startProcess({ ...env(database.url, tempDir()), PARLEY_SIGNING_KEK: kek })
    cleanup.push(() => a.kill())
    const b = await startProcess({ ...env(database.url, tempDir()), PARLEY_SIGNING_KEK: kek })
    cleanup.push(() => b.stop())
    const key = await tenantWithEndpoint(a, receiver.url)
    // Events committed on both nodes; each node queues what it committed, and polls for the rest.
    await Promise.all(
      Array.from({ length: EVENTS }, (_, i) => call(i % 2 === 0 ? a : b, 'POST', '/v1/users', key, { id: `cluster-${i}` })),
    )
    await receiver.waitFor(10, 30_000)
    const unanswered = receiver.open
    await a.kill()
    await receiver.waitFor(() => userIdsIn(receiver).size === EVENTS, 60_000)
    expectEveryEventOnceById(receiver, processed, EVENTS)
    expect(overlaps).toEqual([])
    // Some of what was in flight was the killed node's: made again by the other, once its lease ran out.
    expect(unanswered).toBeGreaterThan(0)
  })
})

async function waitForLog(node: ParleyProcess, key: string, endpointId: string, succeeded: number) {
  for (let i = 0; i < 200; i++) {
    const log = (await call(node, 'GET', `/v1/webhooks/${endpointId}/deliveries?limit=200`, key)).data as { eventId: string; status: string }[]
    if (log.filter((d) => d.status === 'succeeded').length >= succeeded) return log
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('the log never showed every delivery')
}
