/**
 * The delivery log: every attempt of a consumer (`kind`), as people read and act on it: list,
 * retry one event, recover what failed, fail what waits for a destination that was disabled,
 * prune old attempts, count the queue. The same queries run on SQLite and PostgreSQL.
 */
import { type Kysely, sql } from 'kysely'
import { newSortableId } from '../core/ids.js'
import type { Database } from '../storage/schema.js'
import { isoAt } from './clock.js'
import { AttemptInserts, type Delivery, type DeliveryStatus, type Executor, PENDING, attemptRow, deliveryFromRow } from './rows.js'

export class DeliveryLog {
  private readonly inserts: AttemptInserts

  constructor(
    private readonly db: Kysely<Database>,
    /** The consumer whose attempts these are ('webhook'). */
    readonly kind: string,
  ) {
    this.inserts = new AttemptInserts(db, kind)
  }

  /** Fails every pending attempt to `destination` without making it (e.g. the endpoint was disabled). */
  async failPending(db: Executor, destination: string, error: string, now: number): Promise<void> {
    await db
      .updateTable('deliveries')
      .set({ status: 'failed', error, attempted_at: isoAt(now), lease_owner: null, lease_until: null })
      .where('kind', '=', this.kind)
      .where('destination', '=', destination)
      .where('status', '=', PENDING)
      .execute()
  }

  /**
   * Attempts `eventId` again now: its pending attempt is made due now, or a new attempt is queued.
   * Returns that pending attempt; null when the destination never had the event.
   */
  async retry(destination: string, eventId: string, now: number): Promise<Delivery | null> {
    return this.db.transaction().execute(async (trx) => {
      const latest = await trx
        .selectFrom('deliveries')
        .selectAll()
        .where('kind', '=', this.kind)
        .where('destination', '=', destination)
        .where('event_id', '=', eventId)
        .orderBy('attempt', 'desc')
        .limit(1)
        .executeTakeFirst()
      if (!latest) return null
      const last = deliveryFromRow(latest)
      if (last.status === 'pending') {
        await trx
          .updateTable('deliveries')
          .set({ next_attempt_at: isoAt(now) })
          .where('id', '=', last.id)
          .where('next_attempt_at', '>', isoAt(now))
          .execute()
      } else {
        await this.inserts.insert(trx, [attemptRow(last, last.attempt + 1, now, now)])
      }
      const pending = await trx
        .selectFrom('deliveries')
        .selectAll()
        .where('kind', '=', this.kind)
        .where('destination', '=', destination)
        .where('event_id', '=', eventId)
        .where('status', '=', PENDING)
        .executeTakeFirst()
      return pending ? deliveryFromRow(pending) : null
    })
  }

  /**
   * Queues again, due now, every event of `destination` that has an attempt failed since `since`,
   * none that succeeded and none pending, and that is still stored. Returns how many.
   */
  async recover(destination: string, since: number, now: number): Promise<number> {
    const failedSince = isoAt(since)
    return this.db.transaction().execute(async (trx) => {
      const events = await trx
        .selectFrom('deliveries as d')
        .select((eb) => ['d.event_id', 'd.event_position', 'd.event_type', 'd.order_key', eb.fn.max('d.attempt').as('last')])
        .where('d.kind', '=', this.kind)
        .where('d.destination', '=', destination)
        .where((eb) => eb.exists(eb.selectFrom('events').select('events.position').whereRef('events.position', '=', 'd.event_position')))
        .groupBy(['d.event_id', 'd.event_position', 'd.event_type', 'd.order_key'])
        .having(sql<number>`sum(case when d.status = 'failed' and d.attempted_at >= ${failedSince} then 1 else 0 end)`, '>', 0)
        .having(sql<number>`sum(case when d.status <> 'failed' then 1 else 0 end)`, '=', 0)
        .execute()
      const attempts = events.map((event) => {
        const delivery = { destination, eventId: event.event_id, eventPosition: Number(event.event_position), eventType: event.event_type, orderKey: event.order_key }
        return attemptRow(delivery, Number(event.last) + 1, now, now)
      })
      await this.inserts.insert(trx, attempts)
      return events.length
    })
  }

  async find(destination: string, id: string): Promise<Delivery | null> {
    const row = await this.db.selectFrom('deliveries').selectAll().where('kind', '=', this.kind).where('destination', '=', destination).where('id', '=', id).executeTakeFirst()
    return row ? deliveryFromRow(row) : null
  }

  /** The log of a destination, latest first (by when each attempt was due), after the id `before` (exclusive). */
  async list(destination: string, limit: number, before: string | null, filter: { status?: DeliveryStatus; eventId?: string } = {}): Promise<Delivery[]> {
    let query = this.db.selectFrom('deliveries').selectAll().where('kind', '=', this.kind).where('destination', '=', destination)
    if (before !== null) query = query.where('id', '<', before)
    if (filter.status) query = query.where('status', '=', filter.status)
    if (filter.eventId) query = query.where('event_id', '=', filter.eventId)
    const rows = await query.orderBy('id', 'desc').limit(limit).execute()
    return rows.map(deliveryFromRow)
  }

  async deleteDestination(db: Executor, destination: string): Promise<void> {
    await db.deleteFrom('deliveries').where('kind', '=', this.kind).where('destination', '=', destination).execute()
  }

  /** Deletes finished attempts due before `before`, a batch at a time; returns how many. */
  async prune(before: number, batch = 5000): Promise<number> {
    // Ids begin with the time the attempt was due (a finished one was made then, or just after):
    // every id of an earlier millisecond sorts below this prefix.
    const bound = newSortableId('delivery', before).slice(0, 'dlv_'.length + 8)
    let total = 0
    for (;;) {
      const doomed = this.db
        .selectFrom('deliveries')
        .select('id')
        .where('id', '<', bound)
        .where('kind', '=', this.kind)
        .where('status', '<>', 'pending')
        .limit(batch)
      const result = await this.db.deleteFrom('deliveries').where('id', 'in', doomed).executeTakeFirst()
      const deleted = Number(result.numDeletedRows)
      total += deleted
      if (deleted < batch) return total
    }
  }

  /** Pending attempts, and how long the one most overdue has been due (ms; 0 when none is). */
  async stats(now: number): Promise<{ pending: number; oldestDueMs: number }> {
    const row = await this.db
      .selectFrom('deliveries')
      .select((eb) => [eb.fn.countAll().as('pending'), eb.fn.min('next_attempt_at').as('oldest')])
      .where('kind', '=', this.kind)
      .where('status', '=', PENDING)
      .executeTakeFirst()
    const oldest = row?.oldest ? Date.parse(row.oldest) : now
    return { pending: Number(row?.pending ?? 0), oldestDueMs: Math.max(0, now - oldest) }
  }
}
