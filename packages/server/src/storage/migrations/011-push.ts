import { type Kysely, sql } from 'kysely'
import type { Dialect } from '../database.js'

/**
 * Push notifications (API.md §10, push/).
 *
 * - `push_providers`: a tenant environment's APNs, FCM and Web Push settings. `settings` holds the
 *   public fields (team and key ids, bundle id, project, VAPID public key…); `secret` the private
 *   key(s), sealed by the KEK like webhook secrets (push/settings.ts), never stored in the clear.
 * - `push_devices`: where a user's notifications go. `token` is the APNs or FCM token, or a Web
 *   Push subscription's endpoint (whose keys are in `keys`): unique per tenant environment, so a
 *   token registered again is found and moved rather than doubled.
 * - `push_mutes`: a member who muted a conversation, until when (null: until unmuted).
 * - `push_log`: one row per notification (a message to one device), as GET /v1/push/deliveries
 *   lists it. The attempts themselves are rows of the shared `deliveries` queue (kind 'push', the
 *   destination a provider of a tenant environment, `event_id` the notification's psh_ id). A
 *   side table rather than columns on `deliveries`, because what the log shows is per
 *   notification, not per attempt (its status, its attempts so far, the reason a device was pruned,
 *   the payload of a test-mode notification, which never has an attempt), and it names a user and
 *   a device, which webhook rows have no use for. `message` holds what the notification says only
 *   while it waits to be sent; `payload` only for test mode (status `test`). Unique by event and
 *   device, so reading an event twice notifies nobody twice.
 *
 * Push reads the outbox as the `push` event consumer from here on (push/fanout.ts).
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const position = dialect === 'postgres' ? 'bigint' : 'integer'

  await db.schema
    .createTable('push_providers')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('push_providers_pk', ['tenant_id', 'environment', 'type'])
    .execute()

  await db.schema
    .createTable('push_devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('keys', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('push_devices_by_token').on('push_devices').columns(['tenant_id', 'environment', 'token']).unique().execute()
  // A user's devices, least recently used first (the 26th replaces the first of them).
  await db.schema.createIndex('push_devices_by_user').on('push_devices').columns(['tenant_id', 'environment', 'user_id', 'last_used_at']).execute()

  await db.schema
    .createTable('push_mutes')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('until', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('push_mutes_pk', ['tenant_id', 'environment', 'conversation_id', 'user_id'])
    .execute()
  await db.schema.createIndex('push_mutes_by_user').on('push_mutes').columns(['tenant_id', 'environment', 'user_id']).execute()

  await db.schema
    .createTable('push_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_position', position, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('reason', 'text')
    .addColumn('message', 'text')
    .addColumn('payload', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('push_log_once').on('push_log').columns(['event_id', 'device_id']).unique().execute()
  // The log of an environment, latest first, in all or for one user (ids begin with their time).
  await db.schema.createIndex('push_log_by_tenant').on('push_log').columns(['tenant_id', 'environment', 'id']).execute()
  await db.schema.createIndex('push_log_by_user').on('push_log').columns(['tenant_id', 'environment', 'user_id', 'id']).execute()

  // Registered with the tables, so no message committed after them can be missed, on any node.
  await sql`insert into event_consumers (name, position, updated_at)
    select 'push', coalesce(max(position), 0), ${new Date().toISOString()} from events`.execute(db)
}
