/**
 * The webhook consumer on a node with no endpoints (webhooks/fanout.ts): it moves past events
 * without reading them, one aggregate per run (EventConsumers.contiguousEnd), and an endpoint
 * created afterwards still gets every event committed after it.
 */
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { EventConsumers } from '../../src/events/consumers.js'
import { Outbox, domainEvent } from '../../src/events/outbox.js'
import type { Store } from '../../src/storage/database.js'
import type { Database } from '../../src/storage/schema.js'
import { describeEachEngine } from '../helpers/engines.js'
import { ENGINES } from '../helpers/databases.js'
import { type TestParley, type TestTenant, startParley } from '../helpers/parley.js'
import { sleep, waitFor } from '../helpers/wait.js'
import { type Receiver, startReceiver } from './receiver.js'

const scope = { tenantId: 'ten_idle', environment: 'live' as const }

describeEachEngine('EventConsumers.contiguousEnd', (engine, openStore) => {
  let opened: Store
  let db: Kysely<Database>
  let consumers: EventConsumers

  beforeEach(async () => {
    opened = await openStore()
    db = opened.db
    consumers = new EventConsumers(db)
    return () => opened.close()
  })

  async function append(count: number): Promise<number[]> {
    const events = Array.from({ length: count }, (_, i) => domainEvent('member.removed', scope, 'c1', { conversationId: 'c1', userId: `u${i}` }))
    await new Outbox(db).append(db, events)
    const rows = await db.selectFrom('events').select('position').where('id', 'in', events.map((e) => e.id)).orderBy('position').execute()
    return rows.map((row) => Number(row.position))
  }

  it('is the end of an unbroken run after a position, at most limit long', async () => {
    const positions = await append(10)
    const before = positions[0]! - 1
    expect(await consumers.contiguousEnd(before, 100)).toBe(positions[9])
    expect(await consumers.contiguousEnd(before, 4)).toBe(positions[3])
    expect(await consumers.contiguousEnd(positions[5]!, 100)).toBe(positions[9])
  })

  it('is null with nothing after the position, and when the run has a gap', async () => {
    const positions = await append(6)
    expect(await consumers.contiguousEnd(positions[5]!, 100)).toBeNull()
    await db.deleteFrom('events').where('position', '=', positions[2]!).execute()
    expect(await consumers.contiguousEnd(positions[0]! - 1, 100)).toBeNull()
    // Past the gap the run is unbroken again.
    expect(await consumers.contiguousEnd(positions[2]!, 100)).toBe(positions[5])
  })
})

describe.each(ENGINES)('the webhook consumer with no endpoints (%s)', (engine) => {
  let t: TestParley
  let tenant: TestTenant
  let receiver: Receiver

  beforeAll(async () => {
    t = await startParley({ engine, env: { PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true' } })
    tenant = await t.createTenant()
    receiver = await startReceiver()
  })
  afterAll(async () => {
    await receiver?.close()
    await t?.close()
  })

  const db = () => t.parley.store.db
  const consumerPosition = async () => Number((await db().selectFrom('event_consumers').select('position').where('name', '=', 'webhooks').executeTakeFirstOrThrow()).position)
  const lastPosition = async () => Number((await db().selectFrom('events').select((eb) => eb.fn.max('position').as('top')).executeTakeFirstOrThrow()).top)

  it('moves past the events, then an endpoint created later gets exactly the events after it', async () => {
    for (let i = 0; i < 30; i++) expect((await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: `before-${i}` } })).status).toBe(201)
    const last = await lastPosition()
    const deadline = Date.now() + 5_000
    while ((await consumerPosition()) < last) {
      expect(Date.now(), 'the consumer to pass the events made before any endpoint').toBeLessThan(deadline)
      await sleep(20)
    }

    const created = await t.call('POST', '/v1/webhooks', { auth: tenant.liveKey, body: { url: receiver.url, events: ['user.created'] } })
    expect(created.status, created.text).toBe(201)
    expect((await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: 'after' } })).status).toBe(201)
    await waitFor(() => receiver.received.length >= 1, 10_000, 'the delivery of user.created')
    expect(receiver.received.map((r) => (r.body as { data: { id: string } }).data.id)).toEqual(['after'])
  })
})
