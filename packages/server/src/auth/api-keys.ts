/**
 * The verification hot path for API keys. In order, and stopping at the first failure:
 *   1. format and checksum (no storage access for typos and forgeries),
 *   2. SHA-256 of the plaintext,
 *   3. the in-memory cache of key records, with negative entries for unknown hashes,
 *   4. on a miss, one indexed read by hash (never a write: lastUsedAt is recorded in memory).
 * Changes made on this node invalidate the cache at once; changes made on other nodes are seen
 * within the cache TTL (and at once when the Redis broker relays invalidations).
 */
import { ApiError } from '../errors.js'
import { sha256Hex } from '../lib/crypto.js'
import { type KeyRecord, keyStatus } from '../keys/model.js'
import type { KeyStore } from '../keys/store.js'
import type { Tenant } from '../tenants/model.js'
import type { TenantStore } from '../tenants/store.js'
import { parseKey } from './key-format.js'
import { TtlCache } from './ttl-cache.js'

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
    private readonly keyStore: KeyStore,
    private readonly tenantStore: TenantStore,
    options: { ttlMs: number; maxEntries: number },
  ) {
    this.keys = new TtlCache(options.maxEntries, options.ttlMs)
    this.tenants = new TtlCache(Math.min(options.maxEntries, 100_000), options.ttlMs)
  }

  /** Resolves to the key and its tenant, or throws 401 invalid_api_key. */
  async verify(candidate: string, now = Date.now()): Promise<VerifiedKey> {
    if (parseKey(candidate) === null) throw invalidApiKey()
    const hash = sha256Hex(candidate)
    let key = this.keys.get(hash, now)
    if (key === undefined) {
      key = await this.keyStore.findByHash(hash)
      this.keys.set(hash, key, now)
    }
    if (key === null || keyStatus(key, now) !== 'active') throw invalidApiKey()
    const tenant = await this.tenant(key.tenantId, now)
    if (tenant === null || tenant.deletedAt !== null) throw invalidApiKey()
    return { key, tenant }
  }

  async tenant(id: string, now = Date.now()): Promise<Tenant | null> {
    let tenant = this.tenants.get(id, now)
    if (tenant === undefined) {
      tenant = await this.tenantStore.find(id)
      this.tenants.set(id, tenant, now)
    }
    return tenant
  }

  /** Forget a key (revoked, rolled, edited) so the next request reads it again. */
  invalidateKey(hash: string): void {
    this.keys.delete(hash)
  }

  invalidateTenant(id: string): void {
    this.tenants.delete(id)
  }

  clear(): void {
    this.keys.clear()
    this.tenants.clear()
  }
}
