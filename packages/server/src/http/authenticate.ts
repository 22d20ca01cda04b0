/**
 * The HTTP side of authentication: a preValidation hook hands the request's credential to the
 * shared check (auth/credentials.ts), then applies the route's policy (caller kind, scope,
 * origin, where the admin key may act). Runs before body validation so an unauthenticated client
 * learns nothing about a route's schema. When every lookup hits memory the whole check is
 * synchronous: no promise, no storage access, no write.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type Authenticated, type Authenticator, type Presented, header, presentedIn } from '../auth/credentials.js'
import { hasScope, insufficientScope } from '../auth/scopes.js'
import type { Caller, CallerKind, TenantCaller } from '../core/caller.js'
import { ApiError } from '../core/errors.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import type { AuthPolicy } from './types.js'

export interface AuthDeps {
  authenticator: Authenticator
  /** Called for every authenticated request (lastUsedAt, rate limits); may reject it. */
  onSuccess?: (request: FastifyRequest, reply: FastifyReply, caller: Caller) => MaybePromise<void>
}

export function registerAuthentication(app: FastifyInstance, deps: AuthDeps): void {
  const { authenticator } = deps
  app.decorateRequest('caller', null)
  app.decorateRequest('authenticatedAs', null)
  app.addHook('preValidation', (request, reply, done) => {
    const policy = request.routeOptions.config.auth
    if (!policy) return done()
    const identified = (caller: TenantCaller) => {
      request.authenticatedAs = caller
    }
    const succeed = (caller: Caller) => {
      request.caller = caller
      return deps.onSuccess?.(request, reply, caller)
    }
    try {
      const caller = authenticator.guard(request.ip, () => {
        const credentials = presented(request, policy)
        return andThen(authenticator.authenticate(credentials, identified), (authenticated) =>
          admit(request, authenticated, credentials, policy, authenticator),
        )
      })
      const result = andThen(caller, succeed)
      if (result instanceof Promise) result.then(() => done(), done)
      else done()
    } catch (error) {
      done(error as Error)
    }
  })
}

/** The request's credential; where a route takes publishable keys, also the `apiKey` body field. */
function presented(request: FastifyRequest, policy: AuthPolicy): Presented {
  const fromHeaders = presentedIn(request.headers)
  const body = request.body as { apiKey?: unknown } | undefined
  if (fromHeaders.credential === null && policy.callers.includes('publishable') && typeof body?.apiKey === 'string' && body.apiKey.startsWith('pk_')) {
    return { ...fromHeaders, credential: body.apiKey }
  }
  return fromHeaders
}

/** The caller, if its kind, scope and origin fit the route; the admin key as the route takes it. */
function admit(request: FastifyRequest, caller: Authenticated, credentials: Presented, policy: AuthPolicy, authenticator: Authenticator): MaybePromise<Caller> {
  if (caller.kind === 'admin') {
    // Operator routes take it as itself; tenant routes as an unscoped secret key of the named tenant.
    if (policy.callers.includes('admin')) return caller
    if (!policy.callers.includes('secret')) throw new ApiError('key_type_not_allowed', needs(policy, 'the admin key'))
    return authenticator.adminOnTenant(credentials.claimedTenantId, header(request.headers, 'x-environment'))
  }
  if (!policy.callers.includes(caller.kind)) throw wrongKind(caller, policy)
  if (caller.kind === 'publishable') {
    const allowed = caller.key.allowedOrigins
    if (allowed && allowed.length > 0 && !allowed.includes(header(request.headers, 'origin') ?? '')) {
      throw new ApiError('origin_not_allowed', 'This publishable key is not allowed from this origin')
    }
  } else if (policy.scope && !hasScope(caller.scopes, policy.scope)) {
    throw insufficientScope(policy.scope)
  }
  return caller
}

const CREDENTIALS: Record<CallerKind, string> = {
  admin: 'the admin key',
  secret: 'a secret key',
  publishable: 'a publishable key',
  session: 'a session token',
}

/** "This endpoint needs a secret key or a session token, not a publishable key". */
function needs(policy: AuthPolicy, presented: string): string {
  const wanted = policy.callers.map((kind) => CREDENTIALS[kind])
  const list = wanted.length > 1 ? `${wanted.slice(0, -1).join(', ')} or ${wanted.at(-1)}` : wanted[0]
  return `This endpoint needs ${list}, not ${presented}`
}

function wrongKind(caller: TenantCaller, policy: AuthPolicy): ApiError {
  const message = needs(policy, CREDENTIALS[caller.kind])
  // End users never get tenant-level (or operator) endpoints; a secret key never gets operator ones.
  if (caller.kind === 'session' && (policy.callers.includes('secret') || policy.callers.includes('admin'))) return new ApiError('forbidden', message)
  if (caller.kind === 'secret' && policy.callers.length === 1 && policy.callers[0] === 'admin') return new ApiError('forbidden', message)
  return new ApiError('key_type_not_allowed', message)
}
