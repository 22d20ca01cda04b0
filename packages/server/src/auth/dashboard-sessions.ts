/**
 * Dashboard sign-in sessions (DASHBOARD.md "Signing in"): the admin key or a tenant's secret key,
 * exchanged once for a random cookie that authenticates the dashboard's API calls for 12 hours.
 *
 * Only the SHA-256 of the cookie is stored. A session stands for the credential it was opened
 * with and never for more: a tenant session names its key, and every request goes on to verify
 * that key by its hash through the key cache (auth/api-keys.ts), so a key revoked, expired, rolled
 * past its grace or edited changes its sessions on their next request, on every node, exactly as
 * it changes the key itself. An operator session carries the admin key's hash sealed by the KEK:
 * after PARLEY_ADMIN_KEY changes, the sessions the old key opened end, and the database alone
 * (without the KEK) tells nothing about the admin key.
 *
 * Lookups are cached by hash for the key cache's TTL; signing out forgets the session here at
 * once and on other nodes through the invalidation `publish` sends (Redis), or within the TTL.
 */
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Environment } from '../core/environment.js'
import { ApiError } from '../core/errors.js'
import { newId } from '../core/ids.js'
import { digestsEqual, sha256Hex } from '../lib/crypto.js'
import type { MaybePromise } from '../lib/maybe-promise.js'
import { TtlCache } from '../lib/ttl-cache.js'
import type { Database } from '../storage/schema.js'
import type { Kek } from './kek.js'

/** The absolute lifetime of a session: it is never extended. */
export const SESSION_SECONDS = 12 * 3600

export interface DashboardSession {
  id: string
  kind: 'operator' | 'tenant'
  /** A tenant session's key, and that key's hash (to verify it through the key cache); null for the operator. */
  keyId: string | null
  keyHash: string | null
  tenantId: string | null
  environment: Environment | null
  createdAt: string
  expiresAt: string
}

/** What a session is opened for: the operator, or one tenant key. */
export type SessionSubject = { kind: 'operator' } | { kind: 'tenant'; keyId: string; keyHash: string; tenantId: string; environment: Environment }

/** 32 random bytes, base64url: the only shape a session cookie has. */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/

/** Every unknown, ended or malformed session: one answer, whatever the reason. */
export const sessionEnded = () => new ApiError('authentication_required', 'This dashboard session has ended (signed out or expired): sign in again')

export class DashboardSessions {
  /** token hash → live session, or null (unknown, revoked, or opened by another admin key). */
  private readonly cache: TtlCache<string, DashboardSession | null>

  constructor(
    private readonly db: Kysely<Database>,
    private readonly kek: Kek,
    private readonly adminKeyHash: string,
    options: { ttlMs: number; maxEntries: number },
    /** Tells every node to forget a session (cluster invalidation). */
    private readonly publish: (tokenHash: string) => void = () => {},
  ) {
    this.cache = new TtlCache(options.maxEntries, options.ttlMs)
  }

  /** Opens a session: its cookie value (shown once, to the browser) and what it stands for. */
  async create(subject: SessionSubject, now = Date.now()): Promise<{ cookie: string; session: DashboardSession }> {
    const cookie = randomBytes(32).toString('base64url')
    const id = newId('dashboardSession')
    const tenant = subject.kind === 'tenant' ? subject : null
    const session: DashboardSession = {
      id,
      kind: subject.kind,
      keyId: tenant?.keyId ?? null,
      keyHash: tenant?.keyHash ?? null,
      tenantId: tenant?.tenantId ?? null,
      environment: tenant?.environment ?? null,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + SESSION_SECONDS * 1000).toISOString(),
    }
    await this.db
      .insertInto('dashboard_sessions')
      .values({
        id,
        token_hash: sha256Hex(cookie),
        kind: session.kind,
        key_id: session.keyId,
        tenant_id: session.tenantId,
        environment: session.environment,
        admin_key_seal: subject.kind === 'operator' ? this.kek.encrypt(this.adminKeyHash, sealContext(id)) : null,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
        revoked_at: null,
      })
      .execute()
    return { cookie, session }
  }

  /** The live session a cookie stands for, or a thrown 401. Synchronous when cached. */
  find(cookie: string, now = Date.now()): MaybePromise<DashboardSession> {
    if (!COOKIE_VALUE.test(cookie)) throw sessionEnded()
    const hash = sha256Hex(cookie)
    const cached = this.cache.get(hash, now)
    if (cached !== undefined) return live(cached, now)
    return this.cache.load(hash, () => this.read(hash), now).then((session) => live(session, now))
  }

  /** Signs a session out (a cookie of no session is a no-op), here and on every node. */
  async revoke(cookie: string, now = Date.now()): Promise<void> {
    if (!COOKIE_VALUE.test(cookie)) return
    const hash = sha256Hex(cookie)
    await this.db
      .updateTable('dashboard_sessions')
      .set({ revoked_at: new Date(now).toISOString() })
      .where('token_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .execute()
    this.forget(hash)
    this.publish(hash)
  }

  /** Drops a cached session (signed out on this or another node). */
  forget(tokenHash: string): void {
    this.cache.delete(tokenHash)
  }

  /** Drops every cached session (this node may have missed sign-outs made elsewhere). */
  forgetAll(): void {
    this.cache.clear()
  }

  /** Deletes the sessions past their expiry (revoked ones included: none outlives 12 hours). */
  async prune(now = Date.now()): Promise<number> {
    const result = await this.db.deleteFrom('dashboard_sessions').where('expires_at', '<=', new Date(now).toISOString()).executeTakeFirst()
    return Number(result.numDeletedRows ?? 0)
  }

  private async read(tokenHash: string): Promise<DashboardSession | null> {
    const row = await this.db
      .selectFrom('dashboard_sessions')
      .leftJoin('api_keys', 'api_keys.id', 'dashboard_sessions.key_id')
      .select([
        'dashboard_sessions.id',
        'dashboard_sessions.kind',
        'dashboard_sessions.key_id',
        'api_keys.key_hash',
        'dashboard_sessions.tenant_id',
        'dashboard_sessions.environment',
        'dashboard_sessions.admin_key_seal',
        'dashboard_sessions.created_at',
        'dashboard_sessions.expires_at',
        'dashboard_sessions.revoked_at',
      ])
      .where('dashboard_sessions.token_hash', '=', tokenHash)
      .executeTakeFirst()
    if (!row || row.revoked_at !== null) return null
    if (row.kind === 'operator' ? !this.openedByAdminKey(row.id, row.admin_key_seal) : row.key_hash === null) return null
    return {
      id: row.id,
      kind: row.kind,
      keyId: row.key_id,
      keyHash: row.key_hash,
      tenantId: row.tenant_id,
      environment: row.environment,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    }
  }

  /** Was this operator session opened with the admin key this node has now? */
  private openedByAdminKey(id: string, seal: string | null): boolean {
    if (seal === null) return false
    try {
      return digestsEqual(this.kek.decrypt(seal, sealContext(id)), this.adminKeyHash)
    } catch {
      // Sealed by another KEK, or altered: not a session this node can vouch for.
      return false
    }
  }
}

const sealContext = (id: string) => `dashboard-session:${id}`

function live(session: DashboardSession | null, now: number): DashboardSession {
  if (session === null || Date.parse(session.expiresAt) <= now) throw sessionEnded()
  return session
}

/** The cookie value in a Cookie header, or undefined (the first one when a browser sends several). */
export function sessionCookieIn(cookieHeader: string | string[] | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined
  for (const line of [cookieHeader].flat()) {
    for (const pair of line.split(';')) {
      const at = pair.indexOf('=')
      if (at > 0 && pair.slice(0, at).trim() === SESSION_COOKIE) {
        const value = pair.slice(at + 1).trim()
        if (value !== '') return value
      }
    }
  }
  return undefined
}

export const SESSION_COOKIE = 'parley_dashboard'

/**
 * The Set-Cookie value: httpOnly (no script reads it), SameSite=Strict (no other site's page
 * sends it), the whole origin (the API is under /v1), Secure when Parley is served over https.
 * An empty value with Max-Age=0 clears it.
 */
export function sessionCookieHeader(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`
}
