import type { Caller, CallerKind } from '../auth/caller.js'
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
    caller: Caller | null
  }
}
