/**
 * Per-user "tokens valid after" in memory, so a cached session token costs no storage read.
 * Entries are refetched after the cache TTL (the bound for changes made on other nodes) and
 * dropped at once on a local or relayed `user-tokens` invalidation.
 */
import type { MaybePromise } from '../lib/maybe-promise.js'
import type { Environment } from './key-format.js'
import { TtlCache } from './ttl-cache.js'

export interface UserTokenState {
  /** Tokens minted before this instant (epoch ms) are revoked. */
  validAfterMs: number
}

export type LoadUserState = (tenantId: string, environment: Environment, userId: string) => Promise<UserTokenState | null>

export class RevocationState {
  private readonly cache: TtlCache<string, UserTokenState | null>

  constructor(
    private readonly load: LoadUserState,
    options: { ttlMs: number; maxEntries: number },
  ) {
    this.cache = new TtlCache(options.maxEntries, options.ttlMs)
  }

  /** null when the user does not exist (deleted users' tokens are revoked). */
  get(tenantId: string, environment: Environment, userId: string): MaybePromise<UserTokenState | null> {
    const key = `${tenantId}\u0000${environment}\u0000${userId}`
    const cached = this.cache.get(key)
    if (cached !== undefined) return cached
    return this.load(tenantId, environment, userId).then((state) => {
      this.cache.set(key, state)
      return state
    })
  }

  forget(tenantId: string, environment: Environment, userId: string): void {
    this.cache.delete(`${tenantId}\u0000${environment}\u0000${userId}`)
  }
}
