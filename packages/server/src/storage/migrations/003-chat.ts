import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'

/** Conversations, members, messages (gap-free seq per conversation) and the domain-event outbox. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('conversations')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('metadata', 'text')
    .addColumn('direct_key', 'text')
    .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_activity_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('conversations_pk', ['tenant_id', 'environment', 'id'])
    .execute()
  // One direct conversation per pair (NULL for groups, and NULLs never collide).
  await db.schema
    .createIndex('conversations_direct_pair')
    .on('conversations')
    .columns(['tenant_id', 'environment', 'direct_key'])
    .unique()
    .execute()
  await db.schema
    .createIndex('conversations_by_activity')
    .on('conversations')
    .columns(['tenant_id', 'environment', 'last_activity_at', 'id'])
    .execute()

  await db.schema
    .createTable('members')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('joined_at', 'text', (c) => c.notNull())
    .addColumn('last_read_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('members_pk', ['tenant_id', 'environment', 'conversation_id', 'user_id'])
    .execute()
  await db.schema.createIndex('members_by_user').on('members').columns(['tenant_id', 'environment', 'user_id']).execute()

  await db.schema
    .createTable('messages')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('sender_id', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text')
    .addColumn('client_message_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('edited_at', 'text')
    .addColumn('deleted_at', 'text')
    .addPrimaryKeyConstraint('messages_pk', ['tenant_id', 'environment', 'conversation_id', 'seq'])
    .execute()
  await db.schema
    .createIndex('messages_by_id')
    .on('messages')
    .columns(['tenant_id', 'environment', 'conversation_id', 'id'])
    .unique()
    .execute()
  await db.schema
    .createIndex('messages_idempotency')
    .on('messages')
    .columns(['tenant_id', 'environment', 'conversation_id', 'sender_id', 'client_message_id'])
    .unique()
    .execute()

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
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()
}
