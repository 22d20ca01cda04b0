import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'

/**
 * Leaked-key reports (API.md §11): where a key was found in public, never the key itself. One row
 * per key and place: `place` is the SHA-256 of the URL and source, so the same report twice adds
 * nothing (the primary key) and a long URL never meets PostgreSQL's limit on an index entry.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('leak_reports')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('place', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('reported_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('leak_reports_pk', ['key_id', 'place'])
    .execute()
}
