/**
 * Scopes (API.md §1.4). A key with no scopes is unscoped: full access. Granted scopes may be
 * patterns: `resource:*` (every action on a resource) or `*:read` (read on every resource).
 */
import { SCOPES, type Scope } from '@parley/protocol/scopes'
import { ApiError } from '../core/errors.js'

// The list is shared with the dashboard's Create key form; re-exported so callers keep importing it here.
export { SCOPES, type Scope }

const RESOURCES = new Set(SCOPES.map((s) => s.split(':')[0]!))
const ACTIONS = new Set(SCOPES.map((s) => s.split(':')[1]!))

/** A concrete scope, `resource:*` for a known resource, or `*:action` for a known action. */
export function isValidScope(value: string): boolean {
  if ((SCOPES as readonly string[]).includes(value)) return true
  const [resource, action, extra] = value.split(':')
  if (extra !== undefined || resource === undefined || action === undefined) return false
  return (action === '*' && RESOURCES.has(resource)) || (resource === '*' && ACTIONS.has(action))
}

/** The concrete scopes a granted list stands for; an empty (unscoped) list stands for all. */
export function expandScopes(granted: readonly string[]): Set<Scope> {
  if (granted.length === 0) return new Set(SCOPES)
  return new Set(SCOPES.filter((scope) => granted.some((g) => covers(g, scope))))
}

function covers(granted: string, needed: Scope): boolean {
  if (granted === needed) return true
  const [gResource, gAction] = granted.split(':')
  const [nResource, nAction] = needed.split(':')
  return (gAction === '*' && gResource === nResource) || (gResource === '*' && gAction === nAction)
}

/** The 403 for a credential without `needed`, with its RFC 6750 challenge (HTTP routes and socket upgrades). */
export function insufficientScope(needed: Scope): ApiError {
  return new ApiError('insufficient_scope', `Missing scope ${needed}`, {
    headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${needed}"` },
  })
}

/** Does a granted list allow `needed`? Unscoped lists allow everything. */
export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.length === 0 || granted.some((g) => covers(g, needed))
}

/** Is every scope `requested` stands for also granted by `holder`? */
export function isWithin(requested: readonly string[], holder: readonly string[]): boolean {
  const allowed = expandScopes(holder)
  for (const scope of expandScopes(requested)) if (!allowed.has(scope)) return false
  return true
}

/** The first concrete scope `requested` would add beyond `holder`, for error messages. */
export function firstMissing(requested: readonly string[], holder: readonly string[]): Scope | null {
  const allowed = expandScopes(holder)
  for (const scope of expandScopes(requested)) if (!allowed.has(scope)) return scope
  return null
}
