import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'

/** End users and visitors, and the keys that sign their session tokens. */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('visitor_key', 'text')
    .addColumn('username', 'text')
    .addColumn('display_name', 'text')
    .addColumn('avatar_url', 'text')
    .addColumn('email', 'text')
    .addColumn('metadata', 'text')
    .addColumn('tokens_valid_after', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('users_pk', ['tenant_id', 'environment', 'id'])
    .execute()
  await db.schema
    .createIndex('users_by_visitor_key')
    .on('users')
    .columns(['tenant_id', 'environment', 'visitor_key'])
    .unique()
    .execute()
  await db.schema
    .createIndex('users_by_created')
    .on('users')
    .columns(['tenant_id', 'environment', 'created_at', 'id'])
    .execute()

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('private_jwk_encrypted', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('rotated_at', 'text')
    .addColumn('retire_after', 'text')
    .execute()
}
