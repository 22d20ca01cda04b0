/**
 * Session tokens: ES256 JWTs minted for one end user or visitor (API.md §4.2).
 *
 * Verification order: size and shape, header (ES256 only, a kid we publish), signature and
 * registered claims with 30 s of skew, our own claim rules (aud = tid, lifetime ≤ 24 h, no future
 * iat), then tenant and revocation state from memory. A token that verified once is cached until
 * its exp, so a repeated token costs no signature check — only the in-memory state lookups.
 *
 * `jti` starts with the mint time in milliseconds (base36) so that revocation is exact: a token
 * minted before `revoke-tokens` fails and one minted after works, even within the same second.
 */
import { type JWTPayload, SignJWT, decodeProtectedHeader, errors, jwtVerify } from 'jose'
import type { SessionCaller } from '../core/caller.js'
import type { KeyVerifier } from './api-keys.js'
import { ApiError } from '../core/errors.js'
import { randomBase62 } from '../core/ids.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import type { Environment } from '../core/environment.js'
import { MAX_TOKEN_LIFETIME_S, type SigningKeyRing } from './signing-keys.js'
import { TtlCache } from '../lib/ttl-cache.js'

const SKEW_S = 30
const MAX_TOKEN_LENGTH = 8192
const KID_PATTERN = /^sig_[0-9A-Za-z]{16}$/

/** The user's revocation instant ("tokens valid after"), from the user cache (passed in by app.ts). */
export interface TokenHolders {
  get(tenantId: string, environment: Environment, userId: string): MaybePromise<{ validAfterMs: number } | null>
}

export interface TokenClaims {
  sub: string
  tid: string
  env: Environment
  kind: 'user' | 'visitor'
  iat: number
  exp: number
  jti: string
  scopes?: string[]
  /** Visitor tokens: the publishable key that opened the session (its inactivity lifetime). */
  pk?: string
}

export interface MintRequest {
  tenantId: string
  environment: Environment
  userId: string
  kind: 'user' | 'visitor'
  expiresInSeconds: number
  scopes?: string[]
  publishableKeyId?: string
}

const invalid = (detail = 'Invalid session token') => new ApiError('invalid_token', detail)
const revoked = () => new ApiError('token_revoked', 'This session token has been revoked')

export class SessionTokens {
  private readonly verified: TtlCache<string, TokenClaims>

  constructor(
    private readonly ring: SigningKeyRing,
    private readonly issuer: string,
    private readonly keys: KeyVerifier,
    private readonly users: TokenHolders,
    options: { maxCachedTokens: number },
  ) {
    this.verified = new TtlCache(options.maxCachedTokens, (MAX_TOKEN_LIFETIME_S + SKEW_S) * 1000)
  }

  async mint(request: MintRequest, now = Date.now()): Promise<{ token: string; expiresAt: string }> {
    const iat = Math.floor(now / 1000)
    const exp = iat + request.expiresInSeconds
    const { kid, privateKey } = this.ring.signingKey()
    const claims: Record<string, unknown> = { tid: request.tenantId, env: request.environment, kind: request.kind }
    if (request.scopes?.length) claims.scopes = request.scopes
    if (request.publishableKeyId) claims.pk = request.publishableKeyId
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
      .setIssuer(this.issuer)
      .setAudience(request.tenantId)
      .setSubject(request.userId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(`${now.toString(36)}.${randomBase62(16)}`)
      .sign(privateKey)
    return { token, expiresAt: new Date(exp * 1000).toISOString() }
  }

  /**
   * The caller a token stands for, or a thrown 401 (invalid_token, token_expired, token_revoked).
   * Synchronous for a token verified before whose tenant and user state are cached.
   */
  verify(token: string, now = Date.now()): MaybePromise<SessionCaller> {
    const cached = this.verified.get(token, now)
    if (cached === undefined) {
      return this.verifySignature(token, now).then((claims) => {
        this.verified.set(token, claims, now)
        return this.callerOf(claims, now)
      })
    }
    if (cached.exp + SKEW_S <= now / 1000) {
      this.verified.delete(token)
      throw new ApiError('token_expired', 'This session token has expired')
    }
    return this.callerOf(cached, now)
  }

  /** Tenant and revocation checks, from memory when cached. */
  private callerOf(claims: TokenClaims, now: number): MaybePromise<SessionCaller> {
    return andThen(this.keys.tenant(claims.tid, now), (tenant) => {
      if (!tenant || tenant.deletedAt !== null) throw revoked()
      return andThen(this.users.get(claims.tid, claims.env, claims.sub), (cached) => {
        if (cached === null || issuedAtMs(claims) < cached.validAfterMs) throw revoked()
        return {
          kind: 'session' as const,
          tenant,
          environment: claims.env,
          userId: claims.sub,
          userKind: claims.kind,
          scopes: claims.scopes ?? [],
          issuedAt: claims.iat,
          expiresAt: claims.exp,
          keyId: claims.pk ?? null,
        }
      })
    })
  }

  private async verifySignature(token: string, now: number): Promise<TokenClaims> {
    if (token.length > MAX_TOKEN_LENGTH) throw invalid()
    let header: ReturnType<typeof decodeProtectedHeader>
    try {
      header = decodeProtectedHeader(token)
    } catch {
      throw invalid()
    }
    if (header.alg !== 'ES256') throw invalid('Session tokens must be signed with ES256')
    if (typeof header.kid !== 'string' || !KID_PATTERN.test(header.kid)) throw invalid('Unknown signing key')
    const key = this.ring.knownPublicKey(header.kid, now) ?? (await this.ring.publicKey(header.kid, now))
    if (!key) throw invalid('Unknown signing key')
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, key, {
        algorithms: ['ES256'],
        issuer: this.issuer,
        clockTolerance: SKEW_S,
        currentDate: new Date(now),
        requiredClaims: ['exp', 'iat', 'sub', 'aud', 'jti'],
      }))
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new ApiError('token_expired', 'This session token has expired')
      throw invalid()
    }
    return checkClaims(payload, now)
  }
}

/** Our rules beyond the registered claims: audience is the tenant, bounded life, known values. */
function checkClaims(payload: JWTPayload, now: number): TokenClaims {
  const { sub, aud, iat, exp, jti } = payload
  const { tid, env, kind, scopes, pk } = payload as Record<string, unknown>
  const valid =
    typeof sub === 'string' &&
    typeof tid === 'string' &&
    aud === tid &&
    (env === 'live' || env === 'test') &&
    (kind === 'user' || kind === 'visitor') &&
    typeof iat === 'number' &&
    typeof exp === 'number' &&
    typeof jti === 'string' &&
    exp - iat <= MAX_TOKEN_LIFETIME_S &&
    iat <= now / 1000 + SKEW_S &&
    (scopes === undefined || (Array.isArray(scopes) && scopes.every((s) => typeof s === 'string'))) &&
    (pk === undefined || typeof pk === 'string')
  if (!valid) throw invalid()
  return payload as unknown as TokenClaims
}

/** Mint time in ms from the jti, falling back to iat for tokens that do not carry it. */
function issuedAtMs(claims: TokenClaims): number {
  const ms = Number.parseInt(claims.jti.split('.')[0] ?? '', 36)
  return Number.isFinite(ms) && Math.floor(ms / 1000) === claims.iat ? ms : claims.iat * 1000
}
