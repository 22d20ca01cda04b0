import { type Kysely, sql } from 'kysely'
import type { Dialect } from '../database.js'

/**
 * Webhook endpoints and the outbound delivery queue (delivery/queue.ts), which is also the
 * delivery log: one row per attempt, `pending` until it is made.
 *
 * The partial indexes cover only pending rows, so they stay as small as the queue however long
 * the log grows: `deliveries_due` is what workers claim from, `deliveries_in_order` finds an
 * earlier pending delivery of the same conversation, and `deliveries_one_pending` makes sure an
 * event waits at most once per destination (a retry or a recovery cannot queue it twice).
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const position = dialect === 'postgres' ? 'bigint' : 'integer'
  const status = sql.ref('status')

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('disabled_reason', 'text')
    .addColumn('failing_since', 'text')
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_until', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('webhook_endpoints_by_tenant').on('webhook_endpoints').columns(['tenant_id', 'environment', 'created_at', 'id']).execute()

  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_position', position, (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('order_key', 'text')
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('attempted_at', 'text')
    .addColumn('response_status', 'integer')
    .addColumn('duration_ms', 'integer')
    .addColumn('error', 'text')
    .addColumn('response_body', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()
  // Fanning an event out twice (a node re-reading the outbox) inserts nothing the second time.
  await db.schema.createIndex('deliveries_attempt').on('deliveries').columns(['kind', 'destination', 'event_id', 'attempt']).unique().execute()
  await db.schema
    .createIndex('deliveries_one_pending')
    .on('deliveries')
    .columns(['kind', 'destination', 'event_id'])
    .unique()
    .where(status, '=', 'pending')
    .execute()
  // In claim order (events due together in outbox order, so the first event of each conversation
  // comes before those that wait for it), with the destination, so that rows of a destination a
  // node has no room for are passed over in the index.
  await db.schema
    .createIndex('deliveries_due')
    .on('deliveries')
    .columns(['kind', 'next_attempt_at', 'event_position', 'destination'])
    .where(status, '=', 'pending')
    .execute()
  await db.schema
    .createIndex('deliveries_in_order')
    .on('deliveries')
    .columns(['kind', 'destination', 'order_key', 'event_position'])
    .where(status, '=', 'pending')
    .execute()
  // The log of one destination, latest first (ids begin with the time the attempt is due).
  await db.schema.createIndex('deliveries_log').on('deliveries').columns(['kind', 'destination', 'id']).execute()

  // Webhooks read the outbox as the `webhooks` event consumer (webhooks/fanout.ts) from here on:
  // registered with the tables, so no event committed after them can be missed, on any node.
  await sql`insert into event_consumers (name, position, updated_at)
    select 'webhooks', coalesce(max(position), 0), ${new Date().toISOString()} from events`.execute(db)
}
