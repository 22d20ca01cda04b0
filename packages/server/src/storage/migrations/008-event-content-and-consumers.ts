import { type Kysely, sql } from 'kysely'
import type { Dialect } from '../database.js'

/**
 * Stored events that can be forgotten and pruned (API.md §12, events/).
 *
 * - `events` keeps each event's content (text, names, metadata) in a column of its own, indexed by
 *   whose content it is, so an edit or a deletion clears it in place through an index. The table is
 *   made anew: no version before this one read it, so no consumer misses anything, and its rows
 *   held the text of messages since edited or deleted, in a form that cannot be cleared.
 * - `event_consumers`: each consumer's position (webhooks and push register here).
 * - `event_watermarks`: how far every consumer had got, and when, so that retention counts from
 *   the moment every consumer had an event.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const position = dialect === 'postgres' ? 'bigint' : 'integer'
  await db.schema.dropTable('events').execute()
  await db.schema
    .createTable('events')
    .addColumn('position', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('conversation_id', 'text')
    .addColumn('content_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('content', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()
  // Only rows that still hold content; message ids are sortable, so new rows append to it.
  await db.schema
    .createIndex('events_by_content')
    .on('events')
    .columns(['tenant_id', 'environment', 'content_id'])
    .where(sql.ref('content_id'), 'is not', null)
    .execute()

  await db.schema
    .createTable('event_consumers')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('position', position, (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('event_watermarks')
    .addColumn('position', position, (c) => c.primaryKey())
    .addColumn('reached_at', 'text', (c) => c.notNull())
    .execute()
}
