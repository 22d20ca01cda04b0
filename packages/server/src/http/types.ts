import type { Caller, CallerKind, TenantCaller } from '../core/caller.js'
import type { Scope } from '../auth/scopes.js'

/**
 * Every /v1 route declares who may call it. `http/authenticate.ts` enforces it before validation,
 * and the shared auth test table reads the same declarations, so no route can forget its auth.
 */
export interface AuthPolicy {
  /** 'secret' also admits the admin key acting on a tenant (x-tenant-id + x-environment). */
  callers: readonly CallerKind[]
  /** Needed by secret keys and session tokens (unscoped keys have every scope). */
  scope?: Scope
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthPolicy
  }
  interface FastifyRequest {
    /** Set once the route's policy admits the request. */
    caller: Caller | null
    /**
     * The tenant caller the credential proved to be, set before the route's policy (and the tenant
     * checks) ran, so also on a request they refused: usage counts it (API.md §3).
     */
    authenticatedAs: TenantCaller | null
  }
}
