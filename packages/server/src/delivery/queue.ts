/**
 * The outbound delivery queue: committed domain events on their way to third parties (webhook
 * endpoints now, push providers later), one row per attempt (rows.ts). Pending rows are the
 * queue; every row is the delivery log (log.ts). This is the workers' side: queuing, claiming,
 * writing outcomes. The same queries run on SQLite and PostgreSQL.
 *
 * Claiming is a lease: a node marks the rows it takes with its name and a deadline in one
 * conditional UPDATE, so two nodes never hold the same row (on PostgreSQL the second UPDATE waits
 * for the first and then finds the lease taken). A node that dies loses its leases when they
 * expire, and the rows are attempted again (at least once, with the same event id).
 *
 * Order: a delivery with an `order_key` (a conversation) waits while an earlier event with the same
 * key is pending for the same destination, for at most `orderWaitMs` after it fell due.
 */
import { type Kysely, sql } from 'kysely'
import type { Dialect } from '../storage/database.js'
import { prepareBySize } from '../storage/prepared.js'
import type { Database } from '../storage/schema.js'
import { isoAt } from './clock.js'
import { AttemptInserts, CHUNK, type Delivery, type Executor, type NewDelivery, PENDING, type RecordedAttempt, attemptRow, deliveryFromRow, padded } from './rows.js'

/** Bound values per outcome in `record`: 100 rows (CHUNK) stay well under SQLite's bound-parameter limit. */
const RECORD_COLUMNS = 6

export interface ClaimRequest {
  owner: string
  now: number
  leaseMs: number
  /** At most this many rows. */
  limit: number
  /** Destinations this node may take no more of (at their concurrency bound). */
  full: readonly string[]
  /** How many more rows of a destination this node may take now. */
  roomFor(destination: string): number
  orderWaitMs: number
}

export class DeliveryQueue {
  // The statements run once or twice per delivery are built once (storage/prepared.ts).
  private readonly inserts: AttemptInserts
  private readonly candidatesQuery
  private readonly leaseQuery
  private readonly recordQuery

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    /** The consumer this queue serves ('webhook'); its rows are the only ones it sees. */
    readonly kind: string,
  ) {
    this.inserts = new AttemptInserts(db, kind)
    // Due rows nobody holds, oldest first (in outbox order among rows due together: the first
    // event of a conversation before the ones waiting for it), none that must wait for an earlier
    // event of its conversation; `size` destinations excluded (checked first, in the index).
    this.candidatesQuery = prepareBySize((arg, size) => {
      let query = db
        .selectFrom('deliveries as d')
        .select(['d.id', 'd.destination'])
        .where('d.kind', '=', kind)
        .where('d.status', '=', PENDING)
        .where('d.next_attempt_at', '<=', arg(0))
      if (size > 0) query = query.where('d.destination', 'not in', Array.from({ length: size }, (_, i) => arg(3 + i)))
      return query
        .where((eb) => eb.or([eb('d.lease_until', 'is', null), eb('d.lease_until', '<=', arg(0))]))
        .where((eb) =>
          eb.or([
            eb('d.order_key', 'is', null),
            eb('d.next_attempt_at', '<=', arg(1)),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('deliveries as e')
                  .select(sql.lit(1).as('one'))
                  .where('e.kind', '=', kind)
                  .whereRef('e.destination', '=', 'd.destination')
                  .whereRef('e.order_key', '=', 'd.order_key')
                  .where('e.status', '=', PENDING)
                  .whereRef('e.event_position', '<', 'd.event_position'),
              ),
            ),
          ]),
        )
        .orderBy('d.next_attempt_at')
        .orderBy('d.event_position')
        .limit(arg(2))
    })
    // Conditional: on PostgreSQL a second node's UPDATE waits for the first, then finds the lease taken.
    this.leaseQuery = prepareBySize((arg, size) =>
      db
        .updateTable('deliveries')
        .set({ lease_owner: arg(0), lease_until: arg(1) })
        .where('id', 'in', Array.from({ length: size }, (_, i) => arg(3 + i)))
        .where('status', '=', PENDING)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', arg(2))]))
        .returningAll(),
    )
    // Arguments: attempted_at, owner, then RECORD_COLUMNS per outcome (id, status, response_status,
    // duration_ms, error, response_body). Integers cast: PostgreSQL reads the parameters of a
    // VALUES list as text.
    this.recordQuery = prepareBySize((arg, size) => {
      const rows = Array.from({ length: size }, (_, row) => {
        const at = (column: number) => arg(2 + row * RECORD_COLUMNS + column)
        return sql`(${at(0)}, ${at(1)}, cast(${at(2)} as integer), cast(${at(3)} as integer), ${at(4)}, ${at(5)})`
      })
      const update = sql<{ id: string }>`
        update deliveries set status = v.column2, response_status = v.column3, duration_ms = v.column4, error = v.column5,
          response_body = v.column6, attempted_at = ${arg(0)}, lease_owner = null, lease_until = null
        from (values ${sql.join(rows)}) as v
        where deliveries.id = v.column1 and deliveries.status = ${PENDING} and deliveries.lease_owner = ${arg(1)}
        returning deliveries.id`
      return { compile: () => update.compile(db) }
    })
  }

  /**
   * A transaction for the queue's own bookkeeping (queuing, claiming, outcomes). On PostgreSQL it
   * commits without waiting for the WAL flush: a database crash may lose its last fraction of a
   * second, which loses no delivery, since everything written here is redone or idempotent: lost
   * queuing is queued again from the outbox (the consumer's position is lost with it), a lost claim
   * or outcome means the attempt is made again (at least once, as after a node crash).
   */
  transaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') await sql`set local synchronous_commit = off`.execute(trx)
      return work(trx)
    })
  }

  /** Queues the first attempt of each delivery, due now; an event already queued for a destination is skipped. */
  async enqueue(db: Executor, deliveries: readonly NewDelivery[], now: number): Promise<void> {
    await this.inserts.insert(db, deliveries.map((d) => attemptRow(d, 1, now, now)))
  }

  /**
   * Leases due rows to `owner`: oldest due first, at most `roomFor` per destination, none that
   * must wait for an earlier event of its conversation. Returns the rows this call leased, and
   * whether the queue ran out of rows it could have given (else claim again: destinations that
   * had no room are `full` by now, and the rows behind theirs come next).
   */
  async claim(request: ClaimRequest): Promise<{ leased: Delivery[]; drained: boolean }> {
    const { now, owner, leaseMs, limit, orderWaitMs, full } = request
    const due = isoAt(now)
    const rows = await this.candidatesQuery(full.length).execute(this.db, [due, isoAt(now - orderWaitMs), limit, ...full])
    const drained = rows.length < limit

    const taken = new Map<string, number>()
    const ids: string[] = []
    for (const row of rows) {
      const count = taken.get(row.destination) ?? 0
      if (count >= request.roomFor(row.destination)) continue
      taken.set(row.destination, count + 1)
      ids.push(row.id)
    }
    if (ids.length === 0) return { leased: [], drained }
    // Padded to few sizes (rows.ts); a claim larger than 256 rows (rare) is its own size.
    const leasing = padded(ids, 256)
    const leased = await this.transaction((trx) => this.leaseQuery(leasing.length).execute(trx, [owner, isoAt(now + leaseMs), due, ...leasing]))
    const sorted = leased.map(deliveryFromRow).sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt) || a.eventPosition - b.eventPosition)
    return { leased: sorted, drained }
  }

  /**
   * Writes the outcomes of attempts `owner` holds and queues the next attempt of each that has a
   * `retryAt`, in the caller's transaction, one statement for all (a round trip per batch on
   * PostgreSQL, not per attempt). Returns the ids written: an attempt whose lease was lost
   * (expired and taken by another node, or its row failed meanwhile) is left out, and nothing of
   * it is written.
   */
  async record(db: Executor, owner: string, outcomes: readonly RecordedAttempt[], now: number): Promise<Set<string>> {
    const written = new Set<string>()
    const attemptedAt = isoAt(now)
    for (let i = 0; i < outcomes.length; i += CHUNK) {
      const chunk = padded(outcomes.slice(i, i + CHUNK), CHUNK)
      const args: unknown[] = [attemptedAt, owner]
      for (const { delivery: d, outcome: o } of chunk) args.push(d.id, o.status, o.responseStatus, o.durationMs, o.error, o.responseBody)
      for (const { id } of await this.recordQuery(chunk.length).execute(db, args)) written.add(id)
    }
    const retries = outcomes.filter((r) => r.retryAt !== null && written.has(r.delivery.id))
    await this.inserts.insert(db, retries.map(({ delivery: d, retryAt }) => attemptRow(d, d.attempt + 1, retryAt!, now)))
    return written
  }

  /** Gives leased rows back (a node stopping before their attempts finished): they are due again at once. */
  async release(owner: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await this.db
      .updateTable('deliveries')
      .set({ lease_owner: null, lease_until: null })
      .where('id', 'in', [...ids])
      .where('lease_owner', '=', owner)
      .where('status', '=', PENDING)
      .execute()
  }

  /** When the next row nobody holds falls due (ms), or null when none is pending. */
  async nextDue(now: number): Promise<number | null> {
    const due = isoAt(now)
    const row = await this.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('next'))
      .where('kind', '=', this.kind)
      .where('status', '=', PENDING)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', due)]))
      .executeTakeFirst()
    return row?.next ? Date.parse(row.next) : null
  }
}
