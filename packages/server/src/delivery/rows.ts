/**
 * The rows of the `deliveries` table, as the queue (queue.ts) and the log (log.ts) share them: one
 * row per attempt, `pending` until it is made.
 */
import { type Kysely, type Selectable, sql } from 'kysely'
import { newSortableId } from '../core/ids.js'
import { prepareBySize } from '../storage/prepared.js'
import type { Database, DeliveriesTable } from '../storage/schema.js'
import { isoAt } from './clock.js'

export type DeliveryStatus = DeliveriesTable['status']

export interface Delivery {
  id: string
  kind: string
  destination: string
  eventId: string
  eventPosition: number
  eventType: string
  orderKey: string | null
  attempt: number
  status: DeliveryStatus
  nextAttemptAt: string
  attemptedAt: string | null
  responseStatus: number | null
  durationMs: number | null
  error: string | null
  responseBody: string | null
  createdAt: string
}

/** An event to deliver to one destination. */
export interface NewDelivery {
  destination: string
  eventId: string
  eventPosition: number
  eventType: string
  orderKey: string | null
}

/** An attempt made, its outcome, and when to make the next one (null: none). */
export interface RecordedAttempt {
  delivery: Delivery
  outcome: AttemptRecord
  retryAt: number | null
}

/** How an attempt went, as the log keeps it. */
export interface AttemptRecord {
  status: 'succeeded' | 'failed'
  responseStatus: number | null
  durationMs: number | null
  error: string | null
  responseBody: string | null
}

export type Executor = Kysely<Database>

/**
 * `status = 'pending'` written out in the SQL, not bound: only then may SQLite (and a generic
 * PostgreSQL plan) use the partial indexes, which hold pending rows alone.
 */
export const PENDING = sql.lit('pending' as const)

/** Rows per statement: 9 bound columns each, well under SQLite's bound-parameter limit. */
export const CHUNK = 100
const INSERT_COLUMNS = 9

/**
 * A statement built once per size (storage/prepared.ts prepareBySize) costs a compilation the
 * first time each size is met, and batches come in every size: a list is padded up to the next
 * power of two (at most `max`, its chunk) by repeating its last entry, so that a handful of
 * statements serve every batch. Repeating an entry changes no result where this is used: an `in`
 * list, or VALUES rows joined by id (the same row twice updates it once, with the same values).
 */
export function padded<T>(items: readonly T[], max: number): readonly T[] {
  let size = 1
  while (size < items.length) size *= 2
  size = Math.min(size, max)
  if (size <= items.length || items.length === 0) return items
  const last = items[items.length - 1]!
  return [...items, ...Array.from({ length: size - items.length }, () => last)]
}

/** The values of one pending attempt, dated by when it is due (the log lists a retry after the attempt it follows). */
export function attemptRow(d: NewDelivery, attempt: number, dueAt: number, now: number): unknown[] {
  return [newSortableId('delivery', dueAt), d.destination, d.eventId, d.eventPosition, d.eventType, d.orderKey, attempt, isoAt(dueAt), isoAt(now)]
}

/** Inserts pending attempts (attemptRow), one statement per CHUNK, built once; an attempt already there is skipped. */
export class AttemptInserts {
  private readonly query

  constructor(db: Kysely<Database>, kind: string) {
    this.query = prepareBySize((arg, size) =>
      db
        .insertInto('deliveries')
        .values(
          Array.from({ length: size }, (_, row) => {
            const at = (column: number) => arg(row * INSERT_COLUMNS + column)
            return {
              id: at(0),
              kind,
              destination: at(1),
              event_id: at(2),
              event_position: at(3),
              event_type: at(4),
              order_key: at(5),
              attempt: at(6),
              status: 'pending' as const,
              next_attempt_at: at(7),
              created_at: at(8),
            }
          }),
        )
        .onConflict((oc) => oc.doNothing()),
    )
  }

  async insert(db: Executor, rows: readonly unknown[][]): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK)
      await this.query(chunk.length).execute(db, chunk.flat())
    }
  }
}

export function deliveryFromRow(row: Selectable<DeliveriesTable>): Delivery {
  return {
    id: row.id,
    kind: row.kind,
    destination: row.destination,
    eventId: row.event_id,
    eventPosition: Number(row.event_position),
    eventType: row.event_type,
    orderKey: row.order_key,
    attempt: row.attempt,
    status: row.status,
    nextAttemptAt: row.next_attempt_at,
    attemptedAt: row.attempted_at,
    responseStatus: row.response_status,
    durationMs: row.duration_ms,
    error: row.error,
    responseBody: row.response_body,
    createdAt: row.created_at,
  }
}
