/**
 * Which plan a tenant is on and which request rate applies to one of its keys (API.md §1.5, §9,
 * §12). The request path (http/rate-limits.ts) and the key rules (keys/service.ts) both ask here,
 * so a key is always limited by the same rule its settings were checked against.
 */
import type { KeyType } from '../core/key-record.js'
import type { PlanConfig } from '../core/plan.js'
import type { RateLimit, Tenant } from '../core/tenant.js'

/**
 * A publishable key is shared by every visitor of the tenant's front end, so its default allows
 * this many times the plan's rate (each client is also held to its own per-IP limit).
 */
export const PUBLISHABLE_RATE_FACTOR = 20

export type Plans = Readonly<Record<string, PlanConfig>>

/** The tenant's plan; an unknown plan name (removed from PARLEY_PLANS) falls back to free. */
export function planOf(tenant: Tenant, plans: Plans): PlanConfig {
  return plans[tenant.plan] ?? plans.free!
}

/**
 * The rate a key of this type gets when it has no `rateLimit` of its own: the tenant's own
 * default (set by the operator) or else its plan's, × 20 for publishable keys.
 */
export function defaultRateLimit(tenant: Tenant, type: KeyType, plans: Plans): RateLimit {
  const base = tenant.rateLimit ?? planOf(tenant, plans).rateLimit
  return type === 'publishable' ? { limit: base.limit * PUBLISHABLE_RATE_FACTOR, windowSeconds: base.windowSeconds } : base
}

/** The rate that applies to a key: its own `rateLimit` (limit and window together) or the default. */
export function keyRateLimit(key: { type: KeyType; rateLimit: RateLimit | null }, tenant: Tenant, plans: Plans): RateLimit {
  return key.rateLimit ?? defaultRateLimit(tenant, key.type, plans)
}
