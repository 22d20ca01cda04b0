import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'

/**
 * A counter on each conversation, bumped in the transaction of every change to its messages
 * (send, edit, delete). Cached history pages are valid only for the revision they were read at, so
 * every node can check a cached page against storage with the query it makes anyway.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .alterTable('conversations')
    .addColumn('history_revision', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
}
