/** GET /v1/me: the tenant, environment and credential behind a secret key or session token. */
import type { SecretCaller, SessionCaller } from '../core/caller.js'

export function describeCaller(caller: SecretCaller | SessionCaller) {
  const tenant = { id: caller.tenant.id, name: caller.tenant.name, plan: caller.tenant.plan }
  if (caller.kind === 'session') {
    return { tenant, environment: caller.environment, user: { id: caller.userId, kind: caller.userKind, scopes: caller.scopes.length ? caller.scopes : null } }
  }
  // The admin key acting on a tenant has no key record (API.md §9).
  const key = caller.key
    ? { id: caller.key.id, type: caller.key.type, scopes: caller.key.scopes }
    : { id: 'admin', type: 'admin', scopes: [] as string[] }
  return { tenant, environment: caller.environment, key }
}
