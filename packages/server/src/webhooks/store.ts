/** The webhook_endpoints table. */
import type { Kysely } from 'kysely'
import type { Environment } from '../core/environment.js'
import { prepare } from '../storage/prepared.js'
import type { Database } from '../storage/schema.js'
import { type DisabledReason, type Endpoint, endpointFromRow } from './model.js'

type Executor = Kysely<Database>

export interface EndpointChanges {
  url?: string
  description?: string | null
  events?: string[]
  /** Enabling clears the reason and the failure streak; disabling by hand gives no reason. */
  enabled?: boolean
  secret?: string
  previousSecret?: string | null
  previousSecretUntil?: string | null
}

export class EndpointStore {
  // Run after every delivery attempt: built once (storage/prepared.ts).
  private readonly succeededQuery
  private readonly failedQuery

  constructor(private readonly db: Kysely<Database>) {
    this.succeededQuery = prepare((arg) =>
      db.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', arg(0)).where('failing_since', 'is not', null),
    )
    this.failedQuery = prepare((arg) =>
      db
        .updateTable('webhook_endpoints')
        .set((eb) => ({ failing_since: eb.fn.coalesce('failing_since', eb.val(arg(1))) }))
        .where('id', '=', arg(0))
        .returning('enabled'),
    )
  }

  async insert(endpoint: Endpoint): Promise<void> {
    await this.db
      .insertInto('webhook_endpoints')
      .values({
        id: endpoint.id,
        tenant_id: endpoint.tenantId,
        environment: endpoint.environment,
        url: endpoint.url,
        description: endpoint.description,
        events: JSON.stringify(endpoint.events),
        enabled: endpoint.enabled ? 1 : 0,
        disabled_reason: endpoint.disabledReason,
        failing_since: endpoint.failingSince,
        secret: endpoint.secret,
        previous_secret: endpoint.previousSecret,
        previous_secret_until: endpoint.previousSecretUntil,
        created_at: endpoint.createdAt,
        updated_at: endpoint.updatedAt,
      })
      .execute()
  }

  async find(tenantId: string, environment: Environment, id: string): Promise<Endpoint | null> {
    const row = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? endpointFromRow(row) : null
  }

  async count(tenantId: string, environment: Environment): Promise<number> {
    const row = await this.db
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .executeTakeFirst()
    return Number(row?.n ?? 0)
  }

  /** Newest first, after the (createdAt, id) position of the previous page. */
  async list(tenantId: string, environment: Environment, limit: number, after: [string, string] | null): Promise<Endpoint[]> {
    let query = this.db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('environment', '=', environment)
    if (after) {
      const [createdAt, id] = after
      query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]))
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    return rows.map(endpointFromRow)
  }

  async byIds(ids: readonly string[]): Promise<Map<string, Endpoint>> {
    if (ids.length === 0) return new Map()
    const rows = await this.db.selectFrom('webhook_endpoints').selectAll().where('id', 'in', [...ids]).execute()
    return new Map(rows.map((row) => [row.id, endpointFromRow(row)]))
  }

  /** The enabled endpoints of these tenants (every environment). */
  async enabledOf(db: Executor, tenantIds: readonly string[]): Promise<Endpoint[]> {
    if (tenantIds.length === 0) return []
    const rows = await db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', 'in', [...tenantIds]).where('enabled', '=', 1).execute()
    return rows.map(endpointFromRow)
  }

  /** Whether any endpoint exists, of any tenant, enabled or not (a test event may go to a disabled one). */
  async anyExist(db: Executor = this.db): Promise<boolean> {
    return (await db.selectFrom('webhook_endpoints').select('id').limit(1).executeTakeFirst()) !== undefined
  }

  /** `tenant:environment` of every enabled endpoint. */
  async scopesWithEndpoints(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('webhook_endpoints').select(['tenant_id', 'environment']).distinct().where('enabled', '=', 1).execute()
    return new Set(rows.map((row) => `${row.tenant_id}:${row.environment}`))
  }

  async update(id: string, changes: EndpointChanges, updatedAt: string, db: Executor = this.db): Promise<void> {
    await db
      .updateTable('webhook_endpoints')
      .set({
        ...(changes.url !== undefined && { url: changes.url }),
        ...(changes.description !== undefined && { description: changes.description }),
        ...(changes.events !== undefined && { events: JSON.stringify(changes.events) }),
        ...(changes.enabled !== undefined && { enabled: changes.enabled ? 1 : 0, disabled_reason: null, failing_since: null }),
        ...(changes.secret !== undefined && { secret: changes.secret }),
        ...(changes.previousSecret !== undefined && { previous_secret: changes.previousSecret }),
        ...(changes.previousSecretUntil !== undefined && { previous_secret_until: changes.previousSecretUntil }),
        updated_at: updatedAt,
      })
      .where('id', '=', id)
      .execute()
  }

  async delete(db: Executor, id: string): Promise<void> {
    await db.deleteFrom('webhook_endpoints').where('id', '=', id).execute()
  }

  /** After a delivery succeeded: the endpoint is no longer failing. */
  async succeeded(db: Executor, id: string): Promise<void> {
    await this.succeededQuery.execute(db, [id])
  }

  /** After a delivery failed: starts the failure streak unless one is running. False when the endpoint is (now) disabled or gone. */
  async failed(db: Executor, id: string, at: string): Promise<boolean> {
    const [row] = await this.failedQuery.execute(db, [id, at])
    return Boolean(row?.enabled)
  }

  /**
   * Disables the endpoint for `reason` if it is enabled (and, with `failingBefore`, only if it has
   * been failing since before then). True when this call disabled it.
   */
  async disable(db: Executor, id: string, reason: DisabledReason, at: string, failingBefore?: string): Promise<boolean> {
    let query = db.updateTable('webhook_endpoints').set({ enabled: 0, disabled_reason: reason, updated_at: at }).where('id', '=', id).where('enabled', '=', 1)
    if (failingBefore !== undefined) query = query.where('failing_since', '<=', failingBefore)
    const result = await query.executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }
}
