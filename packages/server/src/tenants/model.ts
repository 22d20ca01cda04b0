import type { Selectable } from 'kysely'
import { fromJson } from '../lib/json.js'
import type { TenantsTable } from '../storage/schema.js'
import type { RateLimit, Tenant } from '../core/tenant.js'

export function tenantFromRow(row: Selectable<TenantsTable>): Tenant {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    rateLimit: fromJson<RateLimit>(row.rate_limit),
    suspended: Boolean(row.suspended),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  }
}

/** The operator's view of a tenant. */
export function tenantView(tenant: Tenant) {
  return {
    id: tenant.id,
    name: tenant.name,
    plan: tenant.plan,
    rateLimit: tenant.rateLimit,
    suspended: tenant.suspended,
    createdAt: tenant.createdAt,
    updatedAt: tenant.updatedAt,
  }
}
