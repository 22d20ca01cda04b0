/**
 * The auth layer: turns the credential on a request into a Caller, then checks the route's policy
 * (caller kind, scope, origin, tenant header). Runs before body validation so an unauthenticated
 * client learns nothing about a route's schema. When every lookup hits memory the whole check is
 * synchronous: no promise, no storage access, no write.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isAdminKey } from '../auth/admin-key.js'
import type { KeyVerifier } from '../auth/api-keys.js'
import type { Caller, SecretCaller, SessionCaller } from '../auth/caller.js'
import { hasKeyPrefix, looksLikeSessionToken } from '../auth/key-format.js'
import { hasScope } from '../auth/scopes.js'
import { ApiError } from '../errors.js'
import { sha256Hex } from '../lib/crypto.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import type { AuthPolicy } from './types.js'

export interface SessionVerifier {
  /** The session caller, or a thrown 401 (invalid_token, token_expired, token_revoked). */
  verify(token: string): MaybePromise<SessionCaller>
}

export interface AuthDeps {
  keys: KeyVerifier
  adminKeyHash: string
  sessions: SessionVerifier
  /** Called for every failed authentication; returns the error to send (per-IP throttling). */
  onFailure?: (request: FastifyRequest, error: ApiError) => MaybePromise<ApiError>
  /** Called for every authenticated request (lastUsedAt, rate limits); may reject it. */
  onSuccess?: (request: FastifyRequest, reply: FastifyReply, caller: Caller) => MaybePromise<void>
}

type Tenanted = Exclude<Caller, { kind: 'admin' }>

const BEARER = /^Bearer +([^\s]+) *$/i
const TOKEN_CODES = new Set(['invalid_token', 'token_expired', 'token_revoked'])

export function registerAuthentication(app: FastifyInstance, deps: AuthDeps): void {
  app.decorateRequest('caller', null)
  app.addHook('preValidation', (request, reply, done) => {
    const policy = request.routeOptions.config.auth
    if (!policy) return done()
    const fail = (error: unknown) => {
      const challenged = withChallenge(error)
      if (!(challenged instanceof ApiError) || challenged.status !== 401 || !deps.onFailure || request.caller) {
        return done(challenged as Error)
      }
      try {
        const replaced = deps.onFailure(request, challenged)
        if (replaced instanceof Promise) replaced.then((e) => done(e), (e) => done(e as Error))
        else done(replaced)
      } catch (error) {
        done(error as Error)
      }
    }
    const succeed = (caller: Caller) => {
      request.caller = caller
      return deps.onSuccess?.(request, reply, caller)
    }
    try {
      const result = andThen(authenticate(request, policy, deps), succeed)
      if (result instanceof Promise) result.then(() => done(), fail)
      else done()
    } catch (error) {
      fail(error)
    }
  })
}

function authenticate(request: FastifyRequest, policy: AuthPolicy, deps: AuthDeps): MaybePromise<Caller> {
  const credential = credentialOf(request, policy)
  if (credential === null) {
    throw new ApiError('authentication_required', 'Header x-api-key not found (or send Authorization: Bearer <credential>)')
  }
  // The credential's shape picks the check. The admin key never has a tenant key's prefix nor a
  // JWT's shape (config.ts refuses such a PARLEY_ADMIN_KEY), so only the remaining credentials
  // are compared with it; which path runs depends on public characters, never on a secret.
  let caller: MaybePromise<Tenanted>
  if (hasKeyPrefix(credential)) {
    caller = andThen(deps.keys.verify(credential), ({ key, tenant }): Tenanted =>
      key.type === 'secret'
        ? { kind: 'secret', tenant, environment: key.environment, key, scopes: key.scopes, isAdmin: false }
        : { kind: 'publishable', tenant, environment: key.environment, key },
    )
  } else if (looksLikeSessionToken(credential)) {
    caller = deps.sessions.verify(credential)
  } else if (isAdminKey(sha256Hex(credential), deps.adminKeyHash)) {
    return adminCaller(request, policy, deps)
  } else {
    throw new ApiError('invalid_api_key', 'Invalid API credentials')
  }
  return andThen(caller, (tenanted) => admit(request, tenanted, policy))
}

/** The caller, if its tenant header, tenant status, kind, scope and origin fit the route. */
function admit(request: FastifyRequest, caller: Tenanted, policy: AuthPolicy): Caller {
  const claimed = header(request, 'x-tenant-id') ?? header(request, 'x-sender-id')
  if (claimed !== undefined && claimed !== caller.tenant.id) throw new ApiError('tenant_mismatch', 'API key does not match tenant')
  if (caller.tenant.suspended) throw new ApiError('forbidden', 'This tenant is suspended')
  if (!policy.callers.includes(caller.kind)) {
    if (caller.kind === 'session') {
      // End users never get tenant-level (or operator) endpoints; elsewhere it is the wrong kind of credential.
      const tenantLevel = policy.callers.includes('secret') || policy.callers.includes('admin')
      if (tenantLevel) throw new ApiError('forbidden', 'Session tokens cannot call this endpoint')
      throw new ApiError('key_type_not_allowed', 'This endpoint takes a publishable key, not a session token')
    }
    if (caller.kind === 'publishable') throw new ApiError('key_type_not_allowed', 'A publishable key cannot call this endpoint')
    if (policy.callers.length === 1 && policy.callers[0] === 'admin') throw new ApiError('forbidden', 'This endpoint needs the admin key')
    throw new ApiError('key_type_not_allowed', `A ${caller.kind} key cannot call this endpoint`)
  }
  if (caller.kind === 'publishable') {
    const allowed = caller.key.allowedOrigins
    if (allowed && allowed.length > 0 && !allowed.includes(header(request, 'origin') ?? '')) {
      throw new ApiError('origin_not_allowed', 'This publishable key is not allowed from this origin')
    }
  } else if (policy.scope && !hasScope(caller.scopes, policy.scope)) {
    throw new ApiError('insufficient_scope', `Missing scope ${policy.scope}`, {
      headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${policy.scope}"` },
    })
  }
  return caller
}

/** The admin key: operator routes as itself, tenant routes as an unscoped secret key. */
function adminCaller(request: FastifyRequest, policy: AuthPolicy, deps: AuthDeps): MaybePromise<Caller> {
  if (policy.callers.includes('admin')) return { kind: 'admin' }
  if (!policy.callers.includes('secret')) throw new ApiError('key_type_not_allowed', 'The admin key cannot call this endpoint')
  const tenantId = header(request, 'x-tenant-id') ?? header(request, 'x-sender-id')
  const environment = header(request, 'x-environment')
  if (tenantId === undefined || (environment !== 'live' && environment !== 'test')) {
    throw new ApiError('invalid_request', 'The admin key acts on a tenant with x-tenant-id and x-environment: live|test')
  }
  return andThen(deps.keys.tenant(tenantId), (tenant): SecretCaller => {
    if (!tenant || tenant.deletedAt !== null) throw new ApiError('not_found', 'Tenant not found')
    return { kind: 'secret', tenant, environment, key: null, scopes: [], isAdmin: true }
  })
}

/** The credential from x-api-key or Authorization (or `apiKey` in the body where pk_ is allowed). */
function credentialOf(request: FastifyRequest, policy: AuthPolicy): string | null {
  const apiKey = header(request, 'x-api-key')
  const authorization = header(request, 'authorization')
  let bearer: string | undefined
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization)
    if (!match) throw new ApiError('invalid_request', 'Authorization must be "Bearer <credential>"')
    bearer = match[1]
  }
  if (apiKey !== undefined && bearer !== undefined && apiKey !== bearer) {
    throw new ApiError('invalid_request', 'x-api-key and Authorization carry different credentials')
  }
  const fromHeaders = bearer ?? apiKey
  if (fromHeaders !== undefined) return fromHeaders
  const body = request.body as { apiKey?: unknown } | undefined
  if (policy.callers.includes('publishable') && typeof body?.apiKey === 'string' && body.apiKey.startsWith('pk_')) {
    return body.apiKey
  }
  return null
}

/** A single-valued header, or undefined when absent or empty; repeated headers are a 400. */
function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  if (Array.isArray(value)) throw new ApiError('invalid_request', `Header ${name} must appear once`)
  return value === undefined || value === '' ? undefined : value
}

/** 401s carry WWW-Authenticate (RFC 6750), with error="invalid_token" for session-token failures. */
function withChallenge(error: unknown): unknown {
  if (!(error instanceof ApiError) || error.status !== 401 || error.headers) return error
  const value = TOKEN_CODES.has(error.code) ? 'Bearer realm="parley", error="invalid_token"' : 'Bearer realm="parley"'
  return new ApiError(error.code, error.message, { headers: { 'www-authenticate': value } })
}
