import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'

/**
 * Dashboard sign-in sessions (auth/dashboard-sessions.ts). The cookie itself is never stored,
 * only its SHA-256 (`token_hash`, unique: every request looks a session up by it). A tenant
 * session names the key it was signed in with (`key_id`), whose status is checked on every
 * request; an operator session has none and carries `admin_key_seal` instead, the admin key's
 * hash sealed by the KEK, so changing PARLEY_ADMIN_KEY ends the sessions the old key opened.
 * `sessions_by_expiry` serves the hourly pruning of ended sessions.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('dashboard_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text')
    .addColumn('tenant_id', 'text')
    .addColumn('environment', 'text')
    .addColumn('admin_key_seal', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute()
  await db.schema.createIndex('dashboard_sessions_by_expiry').on('dashboard_sessions').column('expires_at').execute()
}
