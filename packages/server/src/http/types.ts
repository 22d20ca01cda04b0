import type { Caller, CallerKind, TenantCaller } from '../core/caller.js'
import type { Scope } from '../auth/scopes.js'
import type { DashboardSession } from '../auth/dashboard-sessions.js'

/**
 * Every /v1 route declares who may call it. `http/authenticate.ts` enforces it before validation,
 * and the shared auth test table reads the same declarations, so no route can forget its auth.
 */
export interface AuthPolicy {
  /**
   * 'secret' also admits the admin key acting on a tenant (x-tenant-id + x-environment). Empty for
   * a route that takes no Parley credential and checks its request itself (`signed`): the
   * credential check skips it, and any credential the request carries is ignored.
   */
  callers: readonly CallerKind[]
  /** Needed by secret keys and session tokens (unscoped keys have every scope). */
  scope?: Scope
  /**
   * With no callers: what authenticates the request instead. 'code-host': a code host's signed
   * leak report (Github-Public-Key-Identifier and -Signature headers, API.md §11; leaks/routes.ts).
   */
  signed?: 'code-host'
  /**
   * The dashboard's own routes (dashboard/routes.ts). 'sign-in': the credential is the body's
   * `key` (headers and cookie ignored), and only the admin key or a secret key may sign in (any
   * other credential is a 401, counted like every failed authentication). 'session': only a
   * dashboard session cookie is admitted (another credential, even valid, gets 403).
   */
  dashboard?: 'sign-in' | 'session'
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
    /** The dashboard session the request's cookie stands for, when that cookie authenticated it. */
    dashboardSession: DashboardSession | null
  }
}
