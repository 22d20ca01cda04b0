/**
 * The one credential check, for HTTP requests and WebSocket sockets alike (API.md §1.2, §9, §12):
 * where a credential is read from, which check its shape picks, the caller it stands for, the
 * tenant header and the tenant's status, and the per-client failed-auth throttle around it all.
 * What a caller may then do (route policy: caller kinds, scopes, origins) stays with each
 * transport: http/authenticate.ts and realtime/socket-policy.ts.
 *
 * A dashboard session cookie (auth/dashboard-sessions.ts) is one more credential here: HTTP
 * presents it only when no credential header is sent, and it stands for the credential it was
 * opened with (the admin key, or its tenant key verified again on every request).
 *
 * When every lookup hits memory the whole check is synchronous: no promise, no storage access.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { AdminCaller, SecretCaller, SessionCaller, TenantCaller } from '../core/caller.js'
import type { Environment } from '../core/environment.js'
import { ApiError } from '../core/errors.js'
import type { Tenant } from '../core/tenant.js'
import { sha256Hex } from '../lib/crypto.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import { isAdminKey } from './admin-key.js'
import { type VerifiedKey, invalidApiKey } from './api-keys.js'
import type { DashboardSession } from './dashboard-sessions.js'
import { hasKeyPrefix, looksLikeSessionToken } from './key-format.js'

/** API keys and their tenants (auth/api-keys.ts). */
export interface KeyChecks {
  /** The key and its tenant, or a thrown 401 invalid_api_key. */
  verify(candidate: string): MaybePromise<VerifiedKey>
  /** The same for a key known by its stored hash. */
  verifyDigest(digest: string): MaybePromise<VerifiedKey>
  /** The tenant, deleted ones included. */
  tenant(id: string): MaybePromise<Tenant | null>
}

export interface SessionVerifier {
  /** The session caller, or a thrown 401 (invalid_token, token_expired, token_revoked). */
  verify(token: string): MaybePromise<SessionCaller>
}

export interface DashboardSessionLookup {
  /** The live session of a cookie, or a thrown 401 authentication_required. */
  find(cookie: string): MaybePromise<DashboardSession>
}

/** Failed authentications per client address (limits/failed-auth.ts). */
export interface FailureThrottle {
  /** A 429 for a client already over its threshold, else null. Runs before any verification. */
  refusal(client: string): ApiError | null
  /** Counts one failure: the error to answer (the same one, or a 429 past the threshold). */
  failed(client: string, error: ApiError): MaybePromise<ApiError>
}

export interface AuthenticatorDeps {
  keys: KeyChecks
  sessions: SessionVerifier
  adminKeyHash: string
  dashboardSessions?: DashboardSessionLookup
  throttle?: FailureThrottle
  /** Sees every failed authentication (metrics). */
  onFailure?: (error: ApiError) => void
}

/** What a request or socket presents: the credential, and the tenant it claims to be. */
export interface Presented {
  credential: string | null
  /** x-tenant-id (alias x-sender-id), when sent: it must be the credential's tenant. */
  claimedTenantId?: string
  /** The dashboard session cookie, presented (over HTTP) only when `credential` is null. */
  dashboardCookie?: string
}

/** A tenant's caller, or the operator's admin key (which acts on a tenant only where a route says so). */
export type Authenticated = TenantCaller | AdminCaller

const BEARER = /^Bearer +([^\s]+) *$/i
const TOKEN_CODES = new Set(['invalid_token', 'token_expired', 'token_revoked'])

export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  /**
   * Runs a credential check for the client at `address`. A client over its failed-auth threshold
   * is refused (429) before anything is read or verified; each 401 the check throws is counted,
   * and every 401 leaves with its WWW-Authenticate challenge (RFC 6750).
   */
  guard<T>(address: string, check: () => MaybePromise<T>): MaybePromise<T> {
    const refusal = this.deps.throttle?.refusal(address)
    if (refusal) throw refusal
    let result: MaybePromise<T>
    try {
      result = check()
    } catch (error) {
      return this.failed(address, error)
    }
    return result instanceof Promise ? result.catch((error: unknown) => this.failed(address, error)) : result
  }

  /**
   * The caller a credential stands for; throws 401 authentication_required, invalid_api_key,
   * invalid_token, token_expired, token_revoked or tenant_mismatch, or 403 for a suspended tenant.
   * `identified` hears of a verified credential's caller before the tenant checks, so a request
   * they refuse still counts in its key's usage (API.md §3); `opened` hears of the dashboard
   * session a cookie stands for.
   */
  authenticate(presented: Presented, identified?: (caller: TenantCaller) => void, opened?: (session: DashboardSession) => void): MaybePromise<Authenticated> {
    const { credential, claimedTenantId, dashboardCookie } = presented
    if (credential === null) {
      if (dashboardCookie !== undefined && this.deps.dashboardSessions) {
        return andThen(this.deps.dashboardSessions.find(dashboardCookie), (session) => this.sessionCaller(session, presented, identified, opened))
      }
      throw new ApiError('authentication_required', 'Header x-api-key not found (or send Authorization: Bearer <credential>)')
    }
    // The credential's shape picks the check. The admin key never has a tenant key's prefix nor a
    // JWT's shape (config.ts refuses such a PARLEY_ADMIN_KEY), so only the remaining credentials
    // are compared with it; which path runs depends on public characters, never on a secret.
    let caller: MaybePromise<TenantCaller>
    if (hasKeyPrefix(credential)) caller = andThen(this.deps.keys.verify(credential), keyCaller)
    else if (looksLikeSessionToken(credential)) caller = this.deps.sessions.verify(credential)
    else if (isAdminKey(sha256Hex(credential), this.deps.adminKeyHash)) return { kind: 'admin' }
    else throw invalidApiKey()
    return andThen(caller, (tenantCaller) => checkTenant(tenantCaller, claimedTenantId, identified))
  }

  /**
   * A dashboard session as the caller of its credential: the operator as the admin key; a tenant
   * session as its key, verified now (a key revoked or expired since sign-in ends the session).
   */
  private sessionCaller(session: DashboardSession, presented: Presented, identified?: (caller: TenantCaller) => void, opened?: (session: DashboardSession) => void): MaybePromise<Authenticated> {
    opened?.(session)
    if (session.kind === 'operator') return { kind: 'admin' }
    const verified = attempt(() => this.deps.keys.verifyDigest(session.keyHash!), keyOfSessionEnded)
    return andThen(verified, (key) => checkTenant(keyCaller(key), presented.claimedTenantId, identified))
  }

  /** The admin key acting on a tenant (x-tenant-id + x-environment) as an unscoped secret key. */
  adminOnTenant(tenantId: string | undefined, environment: string | undefined): MaybePromise<SecretCaller> {
    if (tenantId === undefined || !isEnvironment(environment)) {
      throw new ApiError('invalid_request', 'The admin key acts on a tenant with x-tenant-id and x-environment: live|test')
    }
    return andThen(this.deps.keys.tenant(tenantId), (tenant): SecretCaller => {
      if (!tenant || tenant.deletedAt !== null) throw new ApiError('not_found', 'Tenant not found')
      return { kind: 'secret', tenant, environment, key: null, scopes: [], isAdmin: true }
    })
  }

  private failed(address: string, error: unknown): MaybePromise<never> {
    const challenged = withChallenge(error)
    if (!(challenged instanceof ApiError) || challenged.status !== 401) throw challenged
    this.deps.onFailure?.(challenged)
    const answer = this.deps.throttle ? this.deps.throttle.failed(address, challenged) : challenged
    return andThen(answer, (final) => {
      throw final
    })
  }
}

/** The checks every tenant credential passes after its own: the tenant header, and the tenant's status. */
function checkTenant(caller: TenantCaller, claimedTenantId: string | undefined, identified?: (caller: TenantCaller) => void): TenantCaller {
  identified?.(caller)
  if (claimedTenantId !== undefined && claimedTenantId !== caller.tenant.id) {
    throw new ApiError('tenant_mismatch', 'API key does not match tenant')
  }
  if (caller.tenant.suspended) throw new ApiError('forbidden', 'This tenant is suspended')
  return caller
}

/** A session's key no longer verifies: say so, rather than "Invalid API credentials" for a key the user never typed here. */
function keyOfSessionEnded(error: unknown): never {
  if (error instanceof ApiError && error.code === 'invalid_api_key') {
    throw new ApiError('invalid_api_key', 'The key this dashboard session was signed in with is revoked or expired: sign in again')
  }
  throw error
}

/** `run()`, with `recover` applied to what it throws or rejects with. */
function attempt<T>(run: () => MaybePromise<T>, recover: (error: unknown) => never): MaybePromise<T> {
  try {
    const result = run()
    return result instanceof Promise ? result.catch(recover) : result
  } catch (error) {
    return recover(error)
  }
}

/** A verified key as the caller it stands for. */
function keyCaller({ key, tenant }: VerifiedKey): TenantCaller {
  return key.type === 'secret'
    ? { kind: 'secret', tenant, environment: key.environment, key, scopes: key.scopes, isAdmin: false }
    : { kind: 'publishable', tenant, environment: key.environment, key }
}

/**
 * The credential in `Authorization: Bearer …` or `x-api-key` (both present and different → 400),
 * and the tenant claimed by `x-tenant-id` / `x-sender-id`. Never the query string.
 */
export function presentedIn(headers: IncomingHttpHeaders): Presented {
  const apiKey = header(headers, 'x-api-key')
  const authorization = header(headers, 'authorization')
  let bearer: string | undefined
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization)
    if (!match) throw new ApiError('invalid_request', 'Authorization must be "Bearer <credential>"')
    bearer = match[1]
  }
  if (apiKey !== undefined && bearer !== undefined && apiKey !== bearer) {
    throw new ApiError('invalid_request', 'x-api-key and Authorization carry different credentials')
  }
  const presented: Presented = { credential: bearer ?? apiKey ?? null }
  const claimedTenantId = header(headers, 'x-tenant-id') ?? header(headers, 'x-sender-id')
  if (claimedTenantId !== undefined) presented.claimedTenantId = claimedTenantId
  return presented
}

/** A single-valued header, or undefined when absent or empty; a repeated header is a 400. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  if (Array.isArray(value)) throw new ApiError('invalid_request', `Header ${name} must appear once`)
  return value === undefined || value === '' ? undefined : value
}

const isEnvironment = (value: string | undefined): value is Environment => value === 'live' || value === 'test'

/** 401s carry WWW-Authenticate (RFC 6750), with error="invalid_token" for session-token failures. */
function withChallenge(error: unknown): unknown {
  if (!(error instanceof ApiError) || error.status !== 401 || error.headers) return error
  const value = TOKEN_CODES.has(error.code) ? 'Bearer realm="parley", error="invalid_token"' : 'Bearer realm="parley"'
  return new ApiError(error.code, error.message, { headers: { 'www-authenticate': value } })
}
