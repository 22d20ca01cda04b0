import type { Kysely } from 'kysely'
import type { Dialect } from '../database.js'

/** Usage counters per key (minute, hour and day buckets), alert rules and fired alerts. */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  for (const table of ['usage_minutes', 'usage_hours', 'usage_days']) {
    await db.schema
      .createTable(table)
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('bucket', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('requests', 'integer', (c) => c.notNull())
      .addColumn('success', 'integer', (c) => c.notNull())
      .addColumn('client_errors', 'integer', (c) => c.notNull())
      .addColumn('server_errors', 'integer', (c) => c.notNull())
      .addColumn('rate_limited', 'integer', (c) => c.notNull())
      .addColumn('latency_ms', 'double precision', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['key_id', 'bucket'])
      .execute()
    await db.schema.createIndex(`${table}_by_tenant`).on(table).columns(['tenant_id', 'environment', 'bucket']).execute()
  }

  await db.schema
    .createTable('alert_rules')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('rules', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('alert_rules_pk', ['tenant_id', 'environment'])
    .execute()

  await db.schema
    .createTable('alert_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('alert_events_by_tenant').on('alert_events').columns(['tenant_id', 'environment', 'created_at']).execute()
  await db.schema.createIndex('alert_events_by_key_rule').on('alert_events').columns(['key_id', 'rule', 'created_at']).execute()
}
