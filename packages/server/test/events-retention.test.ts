/**
 * Retention of stored events (API.md §12, events/retention.ts): an event is kept for the retention
 * period after every consumer has it, then deleted; with no consumer, for the period after it was
 * made. Deletes are bounded per run. Runs against the real outbox on every engine, with the clock
 * passed to prune() so days pass at once.
 */
import { CompiledQuery, type Kysely } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'
import { EventConsumers } from '../src/events/consumers.js'
import type { DomainEvent } from '../src/events/envelope.js'
import { Outbox, domainEvent } from '../src/events/outbox.js'
import { EventRetention, deleteOldest } from '../src/events/retention.js'
import type { Store } from '../src/storage/database.js'
import type { Database } from '../src/storage/schema.js'
import { describeEachEngine } from './helpers/engines.js'
import { sleep } from './helpers/wait.js'

const DAY = 86_400_000
const RETENTION = 7 * DAY
const scope = { tenantId: 'ten_retention', environment: 'live' as const }

/** An event made `ageMs` before now. */
function eventAged(ageMs: number, userId = 'u1'): DomainEvent {
  const event = domainEvent('member.removed', scope, 'c1', { conversationId: 'c1', userId })
  return { ...event, createdAt: new Date(Date.now() - ageMs).toISOString() }
}

async function store(db: Kysely<Database>, ...events: DomainEvent[]): Promise<string[]> {
  await new Outbox(db).append(db, events)
  return events.map((e) => e.id)
}

async function storedIds(db: Kysely<Database>): Promise<string[]> {
  return (await db.selectFrom('events').select('id').orderBy('position').execute()).map((r) => r.id)
}

describeEachEngine('event retention', (engine, openStore) => {
  let db: Kysely<Database>
  let opened: Store
  const retention = (options = {}) => new EventRetention(db, { retentionMs: RETENTION, onError: (error) => expect.fail(String(error)), ...options })

  beforeEach(async () => {
    opened ??= await openStore()
    db = opened.db
    for (const table of ['events', 'event_consumers', 'event_watermarks'] as const) await db.deleteFrom(table).execute()
  })

  it('with no consumer, deletes events older than the retention and keeps the recent ones', async () => {
    const [old] = await store(db, eventAged(RETENTION + 60_000))
    const recent = await store(db, eventAged(RETENTION - 60_000), eventAged(0))
    expect(await retention().prune()).toEqual({ deleted: 1, finished: true })
    expect(await storedIds(db)).toEqual(recent)
    expect(await storedIds(db)).not.toContain(old)
  })

  it('keeps an event a consumer has not read, then keeps it for the retention after it is read', async () => {
    const consumers = new EventConsumers(db)
    const start = await consumers.register('webhooks')
    const [first, second] = await store(db, eventAged(30 * DAY, 'a'), eventAged(30 * DAY, 'b'))
    const pruner = retention()
    const now = Date.now()

    // Made long ago, but the consumer has not read them.
    expect((await pruner.prune(now)).deleted).toBe(0)
    const read = await consumers.read(start, 10)
    expect(read.map((e) => e.id)).toEqual([first, second])

    // It handles the first: that one is kept for the retention from now, the second still waits.
    await consumers.advance('webhooks', read[0]!.position)
    expect((await pruner.prune(now + 1000)).deleted).toBe(0)
    expect((await pruner.prune(now + RETENTION - 60_000)).deleted).toBe(0)
    expect(await pruner.prune(now + RETENTION + 60_000)).toEqual({ deleted: 1, finished: true })
    expect(await storedIds(db)).toEqual([second])

    // A retired consumer no longer holds events back.
    await consumers.unregister('webhooks')
    expect((await pruner.prune(now + RETENTION + 120_000)).deleted).toBe(1)
    expect(await storedIds(db)).toEqual([])
    // Watermarks no longer needed are forgotten: the table does not grow with every run.
    expect(Number((await db.selectFrom('event_watermarks').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBeLessThanOrEqual(2)
  })

  it('waits for the slowest of several consumers', async () => {
    const consumers = new EventConsumers(db)
    await consumers.register('webhooks')
    await consumers.register('push')
    await store(db, eventAged(30 * DAY))
    const [event] = await consumers.read(await consumers.position('push'), 1)
    const position = event!.position
    await consumers.advance('webhooks', position)
    const now = Date.now()
    const pruner = retention()
    expect((await pruner.prune(now)).deleted).toBe(0)
    expect((await pruner.prune(now + RETENTION + 60_000)).deleted).toBe(0)
    await consumers.advance('push', position)
    expect((await pruner.prune(now + RETENTION + 120_000)).deleted).toBe(0)
    expect((await pruner.prune(now + 2 * RETENTION + 180_000)).deleted).toBe(1)
  })

  it('registers a consumer once, at the end of the outbox, and never moves it back', async () => {
    await store(db, eventAged(0), eventAged(0))
    const consumers = new EventConsumers(db)
    const position = await consumers.register('push')
    expect(await consumers.read(position, 10)).toEqual([])
    await store(db, eventAged(0))
    expect(await consumers.register('push')).toBe(position)
    await consumers.advance('push', position + 1)
    await consumers.advance('push', position)
    expect(await consumers.position('push')).toBe(position + 1)
  })

  it('deletes at most its bound per run, oldest first, and says when it stopped early', async () => {
    const ids = await store(db, ...Array.from({ length: 25 }, () => eventAged(RETENTION + DAY)))
    const pruner = retention({ batchRows: 5, batchesPerRun: 2 })
    expect(await pruner.prune()).toEqual({ deleted: 10, finished: false })
    expect(await storedIds(db)).toEqual(ids.slice(10))
    expect(await pruner.prune()).toEqual({ deleted: 10, finished: false })
    expect(await pruner.prune()).toEqual({ deleted: 5, finished: true })
    expect(await pruner.prune()).toEqual({ deleted: 0, finished: true })
  })

  it('runs by itself once started, and stop() ends the runs', async () => {
    await store(db, eventAged(RETENTION + DAY))
    const pruner = retention({ everyMs: 20 })
    pruner.start()
    try {
      const deadline = Date.now() + 3000
      while ((await storedIds(db)).length > 0 && Date.now() < deadline) await sleep(20)
      expect(await storedIds(db)).toEqual([])
    } finally {
      await pruner.stop()
    }
    await store(db, eventAged(RETENTION + DAY))
    await sleep(100)
    expect(await storedIds(db)).toHaveLength(1)
  })

  it.runIf(engine === 'sqlite')('finds the oldest rows through the primary key, never by scanning for old ones', async () => {
    const { sql, parameters } = deleteOldest(db, Number.MAX_SAFE_INTEGER, new Date().toISOString(), 1000).compile()
    const { rows } = await db.executeQuery(CompiledQuery.raw(`explain query plan ${sql}`, [...parameters]))
    const plan = (rows as { detail: string }[]).map((r) => r.detail).join('\n')
    expect(plan).toMatch(/SEARCH events USING INTEGER PRIMARY KEY \(rowid=\?\)/)
    expect(plan).toMatch(/SEARCH events USING INTEGER PRIMARY KEY \(rowid<\?\)/)
    expect(plan).not.toMatch(/SCAN events(?! USING)/)
  })
})

describe('PARLEY_EVENT_RETENTION_DAYS', () => {
  it('defaults to 7 days and reads whole days from 1 to 3650', () => {
    expect(loadConfig({}).eventRetentionDays).toBe(7)
    expect(loadConfig({ PARLEY_EVENT_RETENTION_DAYS: '30' }).eventRetentionDays).toBe(30)
  })

  it.each(['0', '3651', '1.5', 'week', '-7'])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ PARLEY_EVENT_RETENTION_DAYS: value })).toThrow(ConfigError)
    expect(() => loadConfig({ PARLEY_EVENT_RETENTION_DAYS: value })).toThrow(/^Invalid configuration: PARLEY_EVENT_RETENTION_DAYS /)
  })
})
