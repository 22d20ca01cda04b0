/**
 * The verification hot path for API keys. In order, and stopping at the first answer:
 *   1. SHA-256 of the plaintext,
 *   2. the in-memory cache of key records by hash, with negative entries for unknown hashes (an
 *      entry exists only for a candidate that passed step 3 before, so a hit needs no re-check),
 *   3. on a miss, format and checksum (no storage access for typos and forgeries),
 *   4. then one indexed read by hash (never a write: lastUsedAt is recorded in memory).
 * Changes made on this node invalidate the cache at once; changes made on other nodes are seen
 * within the cache TTL (and at once when the Redis broker relays invalidations). A read that an
 * invalidation overtakes is not cached (TtlCache.load), so a revocation that commits during a
 * lookup is never served from memory afterwards.
 */
import { ApiError } from '../core/errors.js'
import { sha256Hex } from '../lib/crypto.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import { type KeyRecord, keyStatus } from '../core/key-record.js'
import type { Tenant } from '../core/tenant.js'
import { parseKey } from './key-format.js'
import { TtlCache } from '../lib/ttl-cache.js'

/** What verification reads from storage (the key and tenant stores; passed in by app.ts). */
export interface KeyLookup {
  findByHash(hash: string): Promise<KeyRecord | null>
}
export interface TenantLookup {
  find(id: string): Promise<Tenant | null>
}

export interface VerifiedKey {
  key: KeyRecord
  tenant: Tenant
}

/** The one response for every bad key: unknown, malformed, bad checksum, revoked or expired. */
export const invalidApiKey = () => new ApiError('invalid_api_key', 'Invalid API credentials')

export class KeyVerifier {
  /** hash → record, or null for "no such key" (a negative entry). */
  private readonly keys: TtlCache<string, KeyRecord | null>
  private readonly tenants: TtlCache<string, Tenant | null>

  constructor(
    private readonly keyStore: KeyLookup,
    private readonly tenantStore: TenantLookup,
    options: { ttlMs: number; maxEntries: number },
  ) {
    this.keys = new TtlCache(options.maxEntries, options.ttlMs)
    this.tenants = new TtlCache(Math.min(options.maxEntries, 100_000), options.ttlMs)
  }

  /** The key and its tenant, or a thrown 401 invalid_api_key. Synchronous when both are cached. */
  verify(candidate: string, now = Date.now()): MaybePromise<VerifiedKey> {
    const digest = sha256Hex(candidate)
    const cached = this.keys.get(digest, now)
    if (cached !== undefined) return this.withTenant(cached, now)
    if (parseKey(candidate) === null) throw invalidApiKey()
    return this.keys.load(digest, () => this.keyStore.findByHash(digest), now).then((key) => this.withTenant(key, now))
  }

  /**
   * The same check for a key known by its stored hash (a dashboard session's key): through the
   * same cache, so a revocation or an edit reaches it exactly as it reaches the key.
   */
  verifyDigest(digest: string, now = Date.now()): MaybePromise<VerifiedKey> {
    const cached = this.keys.get(digest, now)
    if (cached !== undefined) return this.withTenant(cached, now)
    return this.keys.load(digest, () => this.keyStore.findByHash(digest), now).then((key) => this.withTenant(key, now))
  }

  /** The tenant (deleted ones included), from memory when cached. */
  tenant(id: string, now = Date.now()): MaybePromise<Tenant | null> {
    const cached = this.tenants.get(id, now)
    if (cached !== undefined) return cached
    return this.tenants.load(id, () => this.tenantStore.find(id), now)
  }

  private withTenant(key: KeyRecord | null, now: number): MaybePromise<VerifiedKey> {
    if (key === null || keyStatus(key, now) !== 'active') throw invalidApiKey()
    return andThen(this.tenant(key.tenantId, now), (tenant) => {
      if (tenant === null || tenant.deletedAt !== null) throw invalidApiKey()
      return { key, tenant }
    })
  }

  /** Forget a key (revoked, rolled, edited) so the next request reads it again. */
  invalidateKey(hash: string): void {
    this.keys.delete(hash)
  }

  invalidateTenant(id: string): void {
    this.tenants.delete(id)
  }

  /** Forget every key and tenant (changes made elsewhere may have gone unannounced). */
  invalidateAll(): void {
    this.keys.clear()
    this.tenants.clear()
  }
}
