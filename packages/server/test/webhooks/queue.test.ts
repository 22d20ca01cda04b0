/**
 * The delivery queue's SQL on every engine: leases, order per key, per-destination room, retries,
 * recovery and pruning, with two claimers racing on one database.
 */
import { beforeAll, expect, it } from 'vitest'
import { DeliveryLog } from '../../src/delivery/log.js'
import { DeliveryQueue } from '../../src/delivery/queue.js'
import type { AttemptRecord, Delivery, NewDelivery } from '../../src/delivery/rows.js'
import { domainEvent, Outbox } from '../../src/events/outbox.js'
import type { Store } from '../../src/storage/database.js'
import { describeEachEngine } from '../helpers/engines.js'

const LEASE = 30_000
const T0 = Date.parse('2026-06-01T12:00:00.000Z')

describeEachEngine('DeliveryQueue and DeliveryLog', (_engine, openStore) => {
  let store: Store
  let queue: DeliveryQueue
  let log: DeliveryLog
  let destination = 0
  beforeAll(async () => {
    store = await openStore()
    queue = new DeliveryQueue(store.db, store.dialect, 'webhook')
    log = new DeliveryLog(store.db, 'webhook')
  })

  /** Stored events (some queries join the outbox), as deliveries to a fresh destination. */
  async function deliveries(count: number, orderKey: string | null = null): Promise<NewDelivery[]> {
    const dest = `whk_${++destination}`
    const events = Array.from({ length: count }, () => domainEvent('webhook.test', { tenantId: 'ten_q', environment: 'live' }, null, { webhookId: dest, message: '' }))
    await store.db.transaction().execute((trx) => new Outbox(store.db).append(trx, events))
    const rows = await store.db.selectFrom('events').select(['id', 'position']).where('id', 'in', events.map((e) => e.id)).orderBy('position').execute()
    return rows.map((row) => ({ destination: dest, eventId: row.id, eventPosition: Number(row.position), eventType: 'webhook.test', orderKey }))
  }

  const claim = async (owner: string, now = T0, extra: Partial<Parameters<DeliveryQueue['claim']>[0]> = {}) =>
    (await queue.claim({ owner, now, leaseMs: LEASE, limit: 100, full: [], roomFor: () => 100, orderWaitMs: 60_000, ...extra })).leased

  /** Records one outcome; true when written. */
  const record = async (delivery: Delivery, owner: string, outcome: AttemptRecord, now: number, retryAt: number | null) =>
    (await queue.record(store.db, owner, [{ delivery, outcome, retryAt }], now)).has(delivery.id)

  const ok = { status: 'succeeded' as const, responseStatus: 200, durationMs: 3, error: null, responseBody: null }
  const failed = { status: 'failed' as const, responseStatus: 500, durationMs: 3, error: 'HTTP 500', responseBody: 'no' }

  it('queues an event once per destination, however often it is enqueued', async () => {
    const [d] = await deliveries(1)
    await queue.enqueue(store.db, [d!, d!], T0)
    await queue.enqueue(store.db, [d!], T0)
    expect(await log.list(d!.destination, 10, null)).toHaveLength(1)
  })

  it('leases a row to one node at a time, and again once the lease has run out', async () => {
    const rows = await deliveries(5)
    await queue.enqueue(store.db, rows, T0)
    const mine = (d: { destination: string }) => d.destination === rows[0]!.destination
    const [a, b] = await Promise.all([claim('node_a'), claim('node_b')])
    const claimedA = a.filter(mine).map((d) => d.id)
    const claimedB = b.filter(mine).map((d) => d.id)
    expect(claimedA.length + claimedB.length).toBe(5)
    expect(claimedA.filter((id) => claimedB.includes(id))).toEqual([])
    expect((await claim('node_c', T0 + LEASE - 1)).filter(mine)).toEqual([])
    // node_a and node_b died: their rows go to whoever claims after the lease.
    expect((await claim('node_c', T0 + LEASE)).filter(mine)).toHaveLength(5)
  })

  it('writes an outcome only for the lease holder, and queues the retry', async () => {
    const rows = await deliveries(1)
    await queue.enqueue(store.db, rows, T0)
    const [leased] = (await claim('node_a')).filter((d) => d.destination === rows[0]!.destination)
    expect(await record(leased!, 'node_b', failed, T0 + 10, T0 + 5000)).toBe(false)
    expect(await record(leased!, 'node_a', failed, T0 + 10, T0 + 5000)).toBe(true)
    expect(await record(leased!, 'node_a', ok, T0 + 10, null)).toBe(false)
    const entries = await log.list(rows[0]!.destination, 10, null)
    expect(entries.map((d) => [d.attempt, d.status, d.error])).toEqual([
      [2, 'pending', null],
      [1, 'failed', 'HTTP 500'],
    ])
    expect(entries[0]!.nextAttemptAt).toBe(new Date(T0 + 5000).toISOString())
    expect((await claim('node_a', T0 + 4999)).filter((d) => d.destination === rows[0]!.destination)).toEqual([])
    expect((await claim('node_a', T0 + 5000)).filter((d) => d.destination === rows[0]!.destination)).toHaveLength(1)
  })

  it('writes a batch of outcomes in one call, leaving out an attempt whose lease was lost', async () => {
    const rows = await deliveries(3)
    await queue.enqueue(store.db, rows, T0)
    const leased = (await claim('node_a')).filter((d) => d.destination === rows[0]!.destination)
    // The third lease ran out and node_b took it.
    await store.db.updateTable('deliveries').set({ lease_owner: 'node_b' }).where('id', '=', leased[2]!.id).execute()
    const written = await queue.record(
      store.db,
      'node_a',
      [
        { delivery: leased[0]!, outcome: ok, retryAt: null },
        { delivery: leased[1]!, outcome: { ...failed, responseStatus: null, durationMs: null, error: 'timed out after 15 s' }, retryAt: T0 + 5000 },
        { delivery: leased[2]!, outcome: ok, retryAt: null },
      ],
      T0 + 100,
    )
    expect([...written].sort()).toEqual([leased[0]!.id, leased[1]!.id].sort())
    const entries = await log.list(rows[0]!.destination, 10, null)
    expect(entries.find((d) => d.id === leased[0]!.id)).toMatchObject({ status: 'succeeded', responseStatus: 200, durationMs: 3, attemptedAt: new Date(T0 + 100).toISOString() })
    expect(entries.find((d) => d.id === leased[1]!.id)).toMatchObject({ status: 'failed', responseStatus: null, durationMs: null, error: 'timed out after 15 s' })
    expect(entries.find((d) => d.id === leased[2]!.id)).toMatchObject({ status: 'pending' })
    expect(entries.filter((d) => d.eventId === leased[1]!.eventId).map((d) => [d.attempt, d.status])).toEqual([
      [2, 'pending'],
      [1, 'failed'],
    ])
  })

  it('hands out one event of an order key at a time, in order, and the next after a minute of waiting', async () => {
    const rows = await deliveries(3, 'conv-1')
    await queue.enqueue(store.db, rows, T0)
    const mine = (list: { destination: string; eventId: string }[]) => list.filter((d) => d.destination === rows[0]!.destination).map((d) => d.eventId)
    const first = await claim('node_a')
    expect(mine(first)).toEqual([rows[0]!.eventId])
    // Leased (in flight) still holds the others back, on every node.
    expect(mine(await claim('node_b'))).toEqual([])
    const leased = first.find((d) => d.eventId === rows[0]!.eventId)!
    await record(leased, 'node_a', failed, T0, T0 + 3600_000)
    // Its retry is an hour out: the next waits until it has been due for a minute.
    expect(mine(await claim('node_a', T0 + 59_999))).toEqual([])
    const next = await claim('node_a', T0 + 60_000)
    expect(mine(next)).toEqual([rows[1]!.eventId, rows[2]!.eventId])
  })

  it('takes no more of a destination than it has room for, and none of a full one', async () => {
    const [a, b] = [await deliveries(6), await deliveries(6)]
    await queue.enqueue(store.db, [...a, ...b], T0)
    const ours = new Set([a[0]!.destination, b[0]!.destination])
    const room = (destination: string) => (destination === a[0]!.destination ? 2 : 100)
    const got = (await claim('node_a', T0, { roomFor: room, full: [] })).filter((d) => ours.has(d.destination))
    expect(got.filter((d) => d.destination === a[0]!.destination)).toHaveLength(2)
    expect(got.filter((d) => d.destination === b[0]!.destination)).toHaveLength(6)
    const none = (await claim('node_b', T0 + LEASE, { full: [a[0]!.destination] })).filter((d) => ours.has(d.destination))
    expect(none.map((d) => d.destination).every((d) => d === b[0]!.destination)).toBe(true)
  })

  it('recovers events that failed and never succeeded, and only while they are stored', async () => {
    const rows = await deliveries(3)
    await queue.enqueue(store.db, rows, T0)
    const leased = (await claim('node_a')).filter((d) => d.destination === rows[0]!.destination)
    const [x, y, z] = rows.map((r) => leased.find((d) => d.eventId === r.eventId)!)
    await record(x!, 'node_a', failed, T0 + 1000, null)
    await record(y!, 'node_a', ok, T0 + 1000, null)
    await record(z!, 'node_a', failed, T0 + 1000, null)
    await store.db.deleteFrom('events').where('position', '=', z!.eventPosition).execute()
    expect(await log.recover(rows[0]!.destination, T0 + 2000, T0 + 3000)).toBe(0)
    expect(await log.recover(rows[0]!.destination, T0, T0 + 3000)).toBe(1)
    const pending = await log.list(rows[0]!.destination, 10, null, { status: 'pending' })
    expect(pending.map((d) => [d.eventId, d.attempt])).toEqual([[x!.eventId, 2]])
    // Pending now: recovering again queues nothing more.
    expect(await log.recover(rows[0]!.destination, T0, T0 + 3000)).toBe(0)
  })

  it('retries a finished event now, or brings a pending one forward', async () => {
    const rows = await deliveries(1)
    await queue.enqueue(store.db, rows, T0)
    const [leased] = (await claim('node_a')).filter((d) => d.destination === rows[0]!.destination)
    await record(leased!, 'node_a', failed, T0, T0 + 3600_000)
    const forward = await log.retry(rows[0]!.destination, rows[0]!.eventId, T0 + 10)
    expect(forward).toMatchObject({ attempt: 2, status: 'pending', nextAttemptAt: new Date(T0 + 10).toISOString() })
    const [again] = (await claim('node_a', T0 + 10)).filter((d) => d.destination === rows[0]!.destination)
    await record(again!, 'node_a', ok, T0 + 20, null)
    expect(await log.retry(rows[0]!.destination, rows[0]!.eventId, T0 + 30)).toMatchObject({ attempt: 3, status: 'pending' })
    expect(await log.retry(rows[0]!.destination, 'evt_unknown', T0)).toBeNull()
  })

  it('fails what waits for a destination, gives leases back, prunes old finished attempts, counts the queue', async () => {
    const rows = await deliveries(4)
    const dest = rows[0]!.destination
    await queue.enqueue(store.db, rows, T0)
    const leased = (await claim('node_a')).filter((d) => d.destination === dest)
    await queue.release('node_a', leased.slice(0, 2).map((d) => d.id))
    expect((await claim('node_b')).filter((d) => d.destination === dest)).toHaveLength(2)
    await log.failPending(store.db, dest, 'not attempted: disabled', T0 + 5)
    const entries = await log.list(dest, 10, null)
    expect(entries.every((d) => d.status === 'failed' && d.error === 'not attempted: disabled')).toBe(true)
    const stats = await log.stats(T0 + 1000)
    expect(stats.pending).toBeGreaterThanOrEqual(0)
    await queue.enqueue(store.db, await deliveries(1), T0 + 10)
    expect((await log.stats(T0 + 1010)).oldestDueMs).toBeGreaterThanOrEqual(1000)
    expect(await log.prune(T0 + 1)).toBeGreaterThanOrEqual(4)
    expect(await log.list(dest, 10, null)).toEqual([])
    expect((await log.stats(T0 + 1010)).pending).toBeGreaterThan(0)
  })
})
