/**
 * The consumers of stored events: webhook delivery and push will each register under a name, read
 * the outbox in position order and record how far they have handled it. Retention (retention.ts)
 * deletes an event only once every registered consumer is past it, and the retention period has
 * passed since.
 *
 *   const consumers = new EventConsumers(db)
 *   let position = await consumers.register('webhooks')      // the current end, on first call
 *   for (const event of await consumers.read(position, 500)) { …; position = event.position }
 *   await consumers.advance('webhooks', position)            // or with the transaction that handled them
 *
 * Positions grow with every insert. On PostgreSQL a transaction may commit after a later one, so a
 * reader can see position n+1 before n: a consumer must not advance past a gap that a transaction
 * still in flight may fill (e.g. wait until the gap is older than any transaction can run).
 * A consumer that is retired must `unregister`, or every event from its position on is kept.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../storage/schema.js'
import { dataOf } from './content.js'
import type { DomainEvent } from './envelope.js'

/** An event read from the outbox, with its position there. */
export type StoredEvent = DomainEvent & { position: number }

export class EventConsumers {
  constructor(private readonly db: Kysely<Database>) {}

  /** Registers `name` at the end of the outbox, unless registered already; returns its position. */
  async register(name: string): Promise<number> {
    await this.db
      .insertInto('event_consumers')
      .values({ name, position: await this.end(), updated_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute()
    return this.position(name)
  }

  async position(name: string): Promise<number> {
    const row = await this.db.selectFrom('event_consumers').select('position').where('name', '=', name).executeTakeFirst()
    if (!row) throw new Error(`No event consumer named ${name}`)
    return Number(row.position)
  }

  /** Up to `limit` events after `position`, in position order, with their content if kept. */
  async read(position: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.db.selectFrom('events').selectAll().where('position', '>', position).orderBy('position').limit(limit).execute()
    return rows.map(
      (row) =>
        ({
          position: Number(row.position),
          id: row.id,
          type: row.type,
          tenantId: row.tenant_id,
          environment: row.environment,
          conversationId: row.conversation_id,
          createdAt: row.created_at,
          data: dataOf(row),
        }) as StoredEvent,
    )
  }

  /**
   * The end of the unbroken run of positions just after `position` (at most `limit` of them), read
   * with one aggregate and no row: a consumer with nothing to do for any event moves past the run
   * at this cost. Null when the run is broken by a gap (the consumer reads the rows and deals
   * with it) or when there is nothing after `position`.
   */
  async contiguousEnd(position: number, limit: number, db: Kysely<Database> = this.db): Promise<number | null> {
    const run = await db
      .selectFrom((eb) => eb.selectFrom('events').select('position').where('position', '>', position).orderBy('position').limit(limit).as('run'))
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.max('position').as('last')])
      .executeTakeFirstOrThrow()
    const count = Number(run.count)
    return count > 0 && Number(run.last) === position + count ? position + count : null
  }

  /** `name` has handled every event up to `position`; a position never moves back. */
  async advance(name: string, position: number, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .updateTable('event_consumers')
      .set({ position, updated_at: new Date().toISOString() })
      .where('name', '=', name)
      .where('position', '<', position)
      .execute()
  }

  /**
   * How far each consumer is behind the outbox: the positions committed after its own (gaps
   * counted as events; a consumer that waits at a gap shows it); an empty outbox is 0 behind.
   */
  async lags(): Promise<Map<string, number>> {
    const end = await this.end()
    const rows = await this.db.selectFrom('event_consumers').select(['name', 'position']).execute()
    return new Map(rows.map((row) => [row.name, Math.max(0, end - Number(row.position))]))
  }

  /** The outbox's last position (0 while it is empty). */
  private async end(): Promise<number> {
    const top = await this.db.selectFrom('events').select((eb) => eb.fn.max('position').as('top')).executeTakeFirst()
    return Number(top?.top ?? 0)
  }

  /** `name` reads no more: it no longer holds events back. */
  async unregister(name: string): Promise<void> {
    await this.db.deleteFrom('event_consumers').where('name', '=', name).execute()
  }
}
