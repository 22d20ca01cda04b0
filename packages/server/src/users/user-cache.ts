/**
 * Users in memory, so a cached session token costs no storage read: its revocation check ("tokens
 * valid after") and GET /v1/identity/me both read from here. Entries are refetched after the cache
 * TTL (the bound for changes made on other nodes) and dropped at once on a local or relayed `user`
 * invalidation (every upsert, edit, deletion and token revocation publishes one).
 */
import type { Environment } from '../core/environment.js'
import { TtlCache } from '../lib/ttl-cache.js'
import type { MaybePromise } from '../lib/maybe-promise.js'
import type { User } from './model.js'
import type { UserStore } from './store.js'

/** What the cache reads from storage. */
export type UserLookup = Pick<UserStore, 'find'>

export interface CachedUser {
  user: User
  /** Tokens minted before this instant (epoch ms) are revoked. */
  validAfterMs: number
}

export class UserCache {
  private readonly cache: TtlCache<string, CachedUser | null>

  constructor(
    private readonly store: UserLookup,
    options: { ttlMs: number; maxEntries: number },
  ) {
    this.cache = new TtlCache(options.maxEntries, options.ttlMs)
  }

  /** null when the user does not exist (a deleted user's tokens are revoked). */
  get(tenantId: string, environment: Environment, userId: string): MaybePromise<CachedUser | null> {
    const key = cacheKey(tenantId, environment, userId)
    const cached = this.cache.get(key)
    if (cached !== undefined) return cached
    // A revocation arriving while this read is in flight keeps its result out of the cache (TtlCache.load).
    return this.cache.load(key, () =>
      this.store.find(tenantId, environment, userId).then((user) => user && { user, validAfterMs: Date.parse(user.tokensValidAfter ?? user.createdAt) }),
    )
  }

  forget(tenantId: string, environment: Environment, userId: string): void {
    this.cache.delete(cacheKey(tenantId, environment, userId))
  }

  forgetAll(): void {
    this.cache.clear()
  }
}

const cacheKey = (tenantId: string, environment: Environment, userId: string) => `${tenantId}\u0000${environment}\u0000${userId}`
