import type { Kysely } from 'kysely'
import { toJson } from '../lib/json.js'
import type { Database } from '../storage/schema.js'
import type { RateLimit, Tenant } from '../core/tenant.js'
import { tenantFromRow } from './model.js'

export class TenantStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(tenant: Tenant, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .insertInto('tenants')
      .values({
        id: tenant.id,
        name: tenant.name,
        plan: tenant.plan,
        rate_limit: toJson(tenant.rateLimit),
        suspended: tenant.suspended ? 1 : 0,
        created_at: tenant.createdAt,
        updated_at: tenant.updatedAt,
        deleted_at: null,
      })
      .execute()
  }

  /** Includes deleted tenants: the auth layer must tell "deleted" from "never existed". */
  async find(id: string): Promise<Tenant | null> {
    const row = await this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? tenantFromRow(row) : null
  }

  async list(limit: number, after: [string, string] | null): Promise<Tenant[]> {
    let query = this.db.selectFrom('tenants').selectAll().where('deleted_at', 'is', null)
    if (after) {
      const [createdAt, id] = after
      query = query.where((eb) =>
        eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]),
      )
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    return rows.map(tenantFromRow)
  }

  async update(
    id: string,
    changes: { name?: string; plan?: string; rateLimit?: RateLimit | null; suspended?: boolean; deletedAt?: string },
    updatedAt: string,
  ): Promise<void> {
    await this.db
      .updateTable('tenants')
      .set({
        ...(changes.name !== undefined && { name: changes.name }),
        ...(changes.plan !== undefined && { plan: changes.plan }),
        ...(changes.rateLimit !== undefined && { rate_limit: toJson(changes.rateLimit) }),
        ...(changes.suspended !== undefined && { suspended: changes.suspended ? 1 : 0 }),
        ...(changes.deletedAt !== undefined && { deleted_at: changes.deletedAt }),
        updated_at: updatedAt,
      })
      .where('id', '=', id)
      .execute()
  }
}
