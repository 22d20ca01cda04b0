/**
 * The push log (the push_log table): one row per notification — a message to one device — from the
 * moment it is queued: `pending` while its attempts go on (the attempts themselves are rows of the
 * shared delivery queue), then `sent`, `failed` or `pruned` (the provider said the device is gone);
 * `test` for a test-environment notification, which is never sent and keeps its payload instead.
 * What a pending notification says is kept until it is sent or given up, then forgotten.
 */
import { type Kysely, sql } from 'kysely'
import { newSortableId } from '../core/ids.js'
import { padded } from '../delivery/rows.js'
import { prepare, prepareBySize } from '../storage/prepared.js'
import type { Database } from '../storage/schema.js'
import { type Notification, type NotificationStatus, type PushScope, notificationFromRow } from './model.js'
import type { ProviderType, PushMessage } from './provider.js'

type Executor = Kysely<Database>

/** A notification to write: pending (with its message) or test (with its payload). */
export interface NewNotification {
  scope: PushScope
  userId: string
  deviceId: string
  provider: ProviderType
  message: PushMessage
  eventId: string
  eventPosition: number
  status: 'pending' | 'test'
  payload: unknown
}

/** How an attempt left a notification. */
export interface NotificationUpdate {
  status: Exclude<NotificationStatus, 'test'>
  attempt: number
  responseStatus: number | null
  reason: string | null
}

const COLUMNS = 16
/** Rows per insert, under SQLite's oldest bound-parameter limit (999). */
const CHUNK = 60
/** Outcomes per update (UPDATE_COLUMNS parameters each). */
const UPDATE_CHUNK = 150
const UPDATE_COLUMNS = 5

export class PushLog {
  private readonly insertQuery
  private readonly updateQuery
  private readonly updateManyQuery
  private readonly byIdsQuery

  constructor(private readonly db: Kysely<Database>) {
    this.insertQuery = prepareBySize((arg, size) =>
      db
        .insertInto('push_log')
        .values(
          Array.from({ length: size }, (_, row) => {
            const at = (column: number) => arg(row * COLUMNS + column)
            return {
              id: at(0),
              tenant_id: at(1),
              environment: at(2),
              user_id: at(3),
              device_id: at(4),
              provider: at(5),
              conversation_id: at(6),
              message_id: at(7),
              event_id: at(8),
              event_position: at(9),
              status: at(10),
              attempt: 0,
              message: at(11),
              payload: at(12),
              created_at: at(13),
              updated_at: at(14),
              reason: at(15),
            }
          }),
        )
        // An event read twice (a node re-reading the outbox) notifies each device once.
        .onConflict((oc) => oc.columns(['event_id', 'device_id']).doNothing())
        .returning('id'),
    )
    // The message is kept while the notification is pending, and only then.
    this.updateQuery = prepare((arg) =>
      db
        .updateTable('push_log')
        .set({
          status: arg(1),
          attempt: arg(2),
          response_status: arg(3),
          reason: arg(4),
          updated_at: arg(5),
          message: sql<string | null>`case when ${arg(1)} = 'pending' then message else null end`,
        })
        .where('id', '=', arg(0)),
    )
    // Arguments: updated_at, then UPDATE_COLUMNS per notification (id, status, attempt,
    // response_status, reason). Integers cast: PostgreSQL reads the parameters of a VALUES list as text.
    this.updateManyQuery = prepareBySize((arg, size) => {
      const rows = Array.from({ length: size }, (_, row) => {
        const at = (column: number) => arg(1 + row * UPDATE_COLUMNS + column)
        return sql`(${at(0)}, ${at(1)}, cast(${at(2)} as integer), cast(${at(3)} as integer), ${at(4)})`
      })
      // The message is kept while the notification is pending, and only then.
      const update = sql`
        update push_log set status = v.column2, attempt = v.column3, response_status = v.column4, reason = v.column5,
          updated_at = ${arg(0)}, message = case when v.column2 = 'pending' then push_log.message else null end
        from (values ${sql.join(rows)}) as v
        where push_log.id = v.column1`
      return { compile: () => update.compile(db) }
    })
    this.byIdsQuery = prepareBySize((arg, size) =>
      db
        .selectFrom('push_log')
        .selectAll()
        .where('id', 'in', Array.from({ length: size }, (_, i) => arg(i))),
    )
  }

  /**
   * Writes new notifications; returns those written, with their ids (one already there, from an
   * earlier read of the same event, is skipped).
   */
  async insert(db: Executor, notifications: readonly NewNotification[], now: number): Promise<(NewNotification & { id: string })[]> {
    const written: (NewNotification & { id: string })[] = []
    const at = new Date(now).toISOString()
    for (let i = 0; i < notifications.length; i += CHUNK) {
      const chunk = notifications.slice(i, i + CHUNK).map((n) => ({ ...n, id: newSortableId('push', now) }))
      const args = chunk.flatMap((n) => [
        n.id,
        n.scope.tenantId,
        n.scope.environment,
        n.userId,
        n.deviceId,
        n.provider,
        n.message.conversationId,
        n.message.messageId,
        n.eventId,
        n.eventPosition,
        n.status,
        n.status === 'pending' ? JSON.stringify(n.message) : null,
        n.status === 'test' ? JSON.stringify(n.payload) : null,
        at,
        at,
        n.status === 'test' ? 'test environment: not sent' : null,
      ])
      const ids = new Set((await this.insertQuery(chunk.length).execute(db, args)).map((row) => row.id))
      for (const n of chunk) if (ids.has(n.id)) written.push(n)
    }
    return written
  }

  async byIds(ids: readonly string[]): Promise<Map<string, Notification>> {
    const found = new Map<string, Notification>()
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = padded(ids.slice(i, i + 500), 500)
      const rows = await this.byIdsQuery(chunk.length).execute(this.db, chunk)
      for (const row of rows) found.set(row.id, notificationFromRow(row))
    }
    return found
  }

  async update(db: Executor, id: string, update: NotificationUpdate, now: number): Promise<void> {
    await this.updateQuery.execute(db, [id, update.status, update.attempt, update.responseStatus, update.reason, new Date(now).toISOString()])
  }

  /** `update` for many notifications, one statement per UPDATE_CHUNK of them (the worker's batch of outcomes). */
  async updateMany(db: Executor, updates: readonly { id: string; update: NotificationUpdate }[], now: number): Promise<void> {
    if (updates.length === 1) return this.update(db, updates[0]!.id, updates[0]!.update, now)
    const at = new Date(now).toISOString()
    for (let i = 0; i < updates.length; i += UPDATE_CHUNK) {
      const chunk = padded(updates.slice(i, i + UPDATE_CHUNK), UPDATE_CHUNK)
      const args: unknown[] = [at]
      for (const { id, update: u } of chunk) args.push(id, u.status, u.attempt, u.responseStatus, u.reason)
      await this.updateManyQuery(chunk.length).execute(db, args)
    }
  }

  /** The log of an environment (or of one user in it), latest first, after the id `before` (exclusive). */
  async list(scope: PushScope, userId: string | null, limit: number, before: string | null): Promise<Notification[]> {
    let query = this.db.selectFrom('push_log').selectAll().where('tenant_id', '=', scope.tenantId).where('environment', '=', scope.environment)
    if (userId !== null) query = query.where('user_id', '=', userId)
    if (before !== null) query = query.where('id', '<', before)
    const rows = await query.orderBy('id', 'desc').limit(limit).execute()
    return rows.map(notificationFromRow)
  }

  /** A deleted user's notifications go with it (they name it, and test ones hold what it was sent). */
  async deleteOfUser(scope: PushScope, userId: string): Promise<void> {
    await this.db.deleteFrom('push_log').where('tenant_id', '=', scope.tenantId).where('environment', '=', scope.environment).where('user_id', '=', userId).execute()
  }

  /** Deletes finished notifications queued before `before`, a batch at a time; returns how many. */
  async prune(before: number, batch = 5000): Promise<number> {
    // Ids begin with the time they were queued: every id of an earlier millisecond sorts below this prefix.
    const bound = newSortableId('push', before).slice(0, 'psh_'.length + 8)
    let total = 0
    for (;;) {
      const doomed = this.db.selectFrom('push_log').select('id').where('id', '<', bound).where('status', '<>', 'pending').limit(batch)
      const result = await this.db.deleteFrom('push_log').where('id', 'in', doomed).executeTakeFirst()
      const deleted = Number(result.numDeletedRows)
      total += deleted
      if (deleted < batch) return total
    }
  }
}
