import { type Kysely, sql } from 'kysely'
import type { Dialect } from '../database.js'

/**
 * Fewer index pages written per message. Every send inserts into each index of `messages`, and an
 * index keyed by conversation first puts each insert on that conversation's page: with many active
 * conversations, each message dirtied a page of its own in every such index, and the commit wrote
 * them all (a 4 KiB page per index per message into SQLite's WAL).
 *
 * - Message ids are unique on their own and sortable by creation time (ids.ts): keyed by
 *   (tenant, environment, id), new ids land at the end of the index, on the page the previous
 *   message just dirtied. Lookups by id still name the conversation and filter by it.
 * - Only sends with a clientMessageId need the idempotency index; NULLs never collide anyway, so
 *   the index holds just those rows. Lookups compare client_message_id with `=`, which both engines
 *   know implies IS NOT NULL, so they still use it.
 *
 * Together: 74 → 44 µs of SQLite CPU per message for batches of 20 sends over 1,000 conversations.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.dropIndex('messages_by_id').execute()
  await db.schema.createIndex('messages_by_id').on('messages').columns(['tenant_id', 'environment', 'id']).unique().execute()
  await db.schema.dropIndex('messages_idempotency').execute()
  await db.schema
    .createIndex('messages_idempotency')
    .on('messages')
    .columns(['tenant_id', 'environment', 'conversation_id', 'sender_id', 'client_message_id'])
    .unique()
    .where(sql.ref('client_message_id'), 'is not', null)
    .execute()
}
