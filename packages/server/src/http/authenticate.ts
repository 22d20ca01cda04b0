/**
 * The HTTP side of authentication: a preValidation hook hands the request's credential to the
 * shared check (auth/credentials.ts), then applies the route's policy (caller kind, scope,
 * origin, where the admin key may act). Runs before body validation so an unauthenticated client
 * learns nothing about a route's schema. When every lookup hits memory the whole check is
 * synchronous: no promise, no storage access, no write.
 *
 * The dashboard session cookie is read when a request sends no credential header. A browser sends
 * a cookie with whatever request a page makes, so a state-changing request it authenticates must
 * also come from Parley's own origin (CSRF): SameSite=Strict already keeps other sites' requests
 * from carrying it, the Origin check holds even where that attribute is not honoured.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type Authenticated, type Authenticator, type Presented, header, presentedIn } from '../auth/credentials.js'
import { sessionCookieIn } from '../auth/dashboard-sessions.js'
import { hasScope, insufficientScope } from '../auth/scopes.js'
import type { DashboardSession } from '../auth/dashboard-sessions.js'
import type { Caller, CallerKind, TenantCaller } from '../core/caller.js'
import { ApiError } from '../core/errors.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import type { AuthPolicy } from './types.js'

export interface AuthDeps {
  authenticator: Authenticator
  /** Called for every authenticated request (lastUsedAt, rate limits); may reject it. */
  onSuccess?: (request: FastifyRequest, reply: FastifyReply, caller: Caller) => MaybePromise<void>
  /** Parley's own origin (PARLEY_PUBLIC_URL's), which cookie-authenticated state changes must come from. */
  ownOrigin?: string
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function registerAuthentication(app: FastifyInstance, deps: AuthDeps): void {
  const { authenticator } = deps
  app.decorateRequest('caller', null)
  app.decorateRequest('authenticatedAs', null)
  app.decorateRequest('dashboardSession', null)
  app.addHook('preValidation', (request, reply, done) => {
    const policy = request.routeOptions.config.auth
    // A route without callers checks its request itself (a signature: AuthPolicy.signed).
    if (!policy || policy.callers.length === 0) return done()
    const identified = (caller: TenantCaller) => {
      request.authenticatedAs = caller
    }
    const succeed = (caller: Caller) => {
      request.caller = caller
      return deps.onSuccess?.(request, reply, caller)
    }
    const opened = (session: DashboardSession) => {
      request.dashboardSession = session
    }
    try {
      const caller = authenticator.guard(request.ip, () => {
        const credentials = presented(request, policy, deps.ownOrigin)
        return andThen(authenticator.authenticate(credentials, identified, opened), (authenticated) =>
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

/**
 * The request's credential: a header; where a route takes publishable keys, the `apiKey` body
 * field; else the dashboard session cookie. Signing in to the dashboard reads only the body's `key`.
 */
function presented(request: FastifyRequest, policy: AuthPolicy, ownOrigin: string | undefined): Presented {
  if (policy.dashboard === 'sign-in') return signInKey(request, ownOrigin)
  const fromHeaders = presentedIn(request.headers)
  if (fromHeaders.credential !== null) return fromHeaders
  const body = request.body as { apiKey?: unknown } | undefined
  if (policy.callers.includes('publishable') && typeof body?.apiKey === 'string' && body.apiKey.startsWith('pk_')) {
    return { ...fromHeaders, credential: body.apiKey }
  }
  const cookie = sessionCookieIn(request.headers.cookie)
  if (cookie === undefined) return fromHeaders
  if (STATE_CHANGING.has(request.method)) refuseCrossOrigin(request, ownOrigin, 'carries the dashboard session cookie')
  return { ...fromHeaders, dashboardCookie: cookie }
}

/** POST /v1/dashboard/session: the key in the body; a foreign page may not sign a browser in (login CSRF). */
function signInKey(request: FastifyRequest, ownOrigin: string | undefined): Presented {
  if (header(request.headers, 'origin') !== undefined) refuseCrossOrigin(request, ownOrigin, 'signs in to the dashboard')
  const key = (request.body as { key?: unknown } | null | undefined)?.key
  if (typeof key !== 'string' || key === '') {
    throw new ApiError('authentication_required', 'Send the admin key or a secret key in the body: {"key": "…"}')
  }
  return { credential: key }
}

/** 403 unless the request's Origin is Parley's own: its public URL's, or the one the request itself was sent to. */
function refuseCrossOrigin(request: FastifyRequest, ownOrigin: string | undefined, what: string): void {
  const origin = header(request.headers, 'origin')
  const own = [ownOrigin, `${request.protocol}://${request.host}`]
  if (origin !== undefined && own.includes(origin)) return
  const why = origin === undefined ? 'has no Origin header' : `comes from ${origin}`
  throw new ApiError('forbidden', `This ${request.method} request ${what} but ${why}: such requests must come from the dashboard's own origin ${ownOrigin ?? own[1]} (CSRF protection)`)
}

/** The caller, if its kind, scope and origin fit the route; the admin key as the route takes it. */
function admit(request: FastifyRequest, caller: Authenticated, credentials: Presented, policy: AuthPolicy, authenticator: Authenticator): MaybePromise<Caller> {
  if (policy.dashboard === 'sign-in') return signingIn(caller)
  if (caller.kind !== 'admin' && !policy.callers.includes(caller.kind)) throw wrongKind(caller, policy)
  if (policy.dashboard === 'session' && request.dashboardSession === null) {
    throw new ApiError('key_type_not_allowed', `This endpoint needs the dashboard session cookie (POST /v1/dashboard/session signs in), not ${CREDENTIALS[caller.kind]}`)
  }
  if (caller.kind === 'admin') {
    // Operator routes take it as itself; tenant routes as an unscoped secret key of the named tenant.
    if (policy.callers.includes('admin')) return caller
    if (!policy.callers.includes('secret')) throw new ApiError('key_type_not_allowed', needs(policy, 'the admin key'))
    return authenticator.adminOnTenant(credentials.claimedTenantId, header(request.headers, 'x-environment'))
  }
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

/** Only the operator's admin key and a tenant's own secret key open a dashboard session. */
function signingIn(caller: Authenticated): Caller {
  if (caller.kind === 'admin' || (caller.kind === 'secret' && caller.key)) return caller
  throw new ApiError('invalid_api_key', `Sign in with the admin key or a secret key (sk_live_… / sk_test_…), not ${CREDENTIALS[caller.kind]}`)
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
