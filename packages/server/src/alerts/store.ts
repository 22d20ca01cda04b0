import type { Kysely } from 'kysely'
import type { Environment } from '../core/environment.js'
import type { Database } from '../storage/schema.js'
import type { AlertRules, MinuteCounts, RuleName } from './rules.js'

/** What an alert event records: a rule that fired, or a key reported leaked (leaks/, API.md §11). */
export type AlertEventKind = RuleName | 'leaked'

export interface AlertEvent {
  id: string
  keyId: string
  rule: AlertEventKind
  details: Record<string, unknown>
  createdAt: string
}

export class AlertStore {
  constructor(private readonly db: Kysely<Database>) {}

  async rules(tenantId: string, environment: Environment): Promise<AlertRules> {
    const row = await this.db
      .selectFrom('alert_rules')
      .select('rules')
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .executeTakeFirst()
    return row ? (JSON.parse(row.rules) as AlertRules) : {}
  }

  async putRules(tenantId: string, environment: Environment, rules: AlertRules): Promise<void> {
    const values = { tenant_id: tenantId, environment, rules: JSON.stringify(rules), updated_at: new Date().toISOString() }
    await this.db
      .insertInto('alert_rules')
      .values(values)
      .onConflict((oc) => oc.columns(['tenant_id', 'environment']).doUpdateSet({ rules: values.rules, updated_at: values.updated_at }))
      .execute()
  }

  /** Per-minute requests and errors of a key since `from`, oldest first, missing minutes as zero. */
  async minutes(keyId: string, fromMs: number, count: number): Promise<MinuteCounts[]> {
    const rows = await this.db
      .selectFrom('usage_minutes')
      .select(['bucket', 'requests', 'client_errors', 'server_errors', 'rate_limited'])
      .where('key_id', '=', keyId)
      .where('bucket', '>=', new Date(fromMs).toISOString())
      .execute()
    const byMinute = new Map(rows.map((r) => [Date.parse(r.bucket), r]))
    return Array.from({ length: count }, (_, i) => {
      const row = byMinute.get(fromMs + i * 60_000)
      return { requests: Number(row?.requests ?? 0), errors: Number(row?.client_errors ?? 0) + Number(row?.server_errors ?? 0) }
    })
  }

  async firedSince(keyId: string, rule: RuleName, since: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('alert_events')
      .select('id')
      .where('key_id', '=', keyId)
      .where('rule', '=', rule)
      .where('created_at', '>=', since)
      .executeTakeFirst()
    return row !== undefined
  }

  async insertEvent(db: Kysely<Database>, tenantId: string, environment: Environment, event: AlertEvent): Promise<void> {
    await db
      .insertInto('alert_events')
      .values({
        id: event.id,
        tenant_id: tenantId,
        environment,
        key_id: event.keyId,
        rule: event.rule,
        details: JSON.stringify(event.details),
        created_at: event.createdAt,
      })
      .execute()
  }

  async events(tenantId: string, environment: Environment, limit: number, before: [string, string] | null): Promise<AlertEvent[]> {
    let query = this.db.selectFrom('alert_events').selectAll().where('tenant_id', '=', tenantId).where('environment', '=', environment)
    if (before) {
      const [createdAt, id] = before
      query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]))
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    return rows.map((r) => ({ id: r.id, keyId: r.key_id, rule: r.rule as AlertEventKind, details: JSON.parse(r.details), createdAt: r.created_at }))
  }
}
