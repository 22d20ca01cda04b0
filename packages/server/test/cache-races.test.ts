/**
 * A revocation that commits while a lookup is in flight is never cached stale (API.md §12): the
 * lookup's result is dropped when an invalidation for that entry arrived meanwhile. Storage here is
 * a controllable store whose reads are held open, so each interleaving is exact, not timed.
 */
import { describe, expect, it } from 'vitest'
import { KeyVerifier } from '../src/auth/api-keys.js'
import { generateKey } from '../src/auth/key-format.js'
import type { KeyRecord } from '../src/core/key-record.js'
import type { Tenant } from '../src/core/tenant.js'
import { sha256Hex } from '../src/lib/crypto.js'
import { TtlCache } from '../src/lib/ttl-cache.js'
import type { User } from '../src/users/model.js'
import { UserCache } from '../src/users/user-cache.js'

/** One stored value whose reads can be held open after they have read it. */
class HeldStore<T> {
  reads = 0
  private gate: Promise<void> | null = null
  private open: () => void = () => {}

  constructor(public value: T) {}

  /** Reads from now on wait (having read) until release(). */
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve))
  }

  release(): void {
    this.gate = null
    this.open()
  }

  async read(): Promise<T> {
    this.reads++
    const seen = this.value
    if (this.gate) await this.gate
    return seen
  }
}

const OPTIONS = { ttlMs: 60_000, maxEntries: 1000 }
const NOW = new Date().toISOString()
const tenant: Tenant = { id: 'ten_1', name: 'Acme', plan: 'pro', rateLimit: null, suspended: false, createdAt: NOW, updatedAt: NOW, deletedAt: null }

function keyFixture() {
  const plaintext = generateKey('sk_live_')
  const record: KeyRecord = {
    id: 'key_1',
    tenantId: tenant.id,
    environment: 'live',
    type: 'secret',
    name: 'k',
    keyHash: sha256Hex(plaintext),
    display: 'sk_live_…',
    scopes: [],
    allowedOrigins: null,
    rateLimit: null,
    metadata: null,
    createdAt: NOW,
    updatedAt: NOW,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    rolledTo: null,
    visitorTtlSeconds: null,
  }
  const keys = new HeldStore<KeyRecord | null>(record)
  const tenants = new HeldStore<Tenant | null>(tenant)
  const verifier = new KeyVerifier({ findByHash: () => keys.read() }, { find: () => tenants.read() }, OPTIONS)
  return { plaintext, record, keys, tenants, verifier }
}

const flush = () => new Promise((resolve) => setImmediate(resolve))

describe('KeyVerifier', () => {
  it('a key revoked while its lookup is in flight is read again by the next verify, which refuses it', async () => {
    const { plaintext, record, keys, verifier } = keyFixture()
    keys.hold()
    const inFlight = verifier.verify(plaintext)
    await flush()
    expect(keys.reads).toBe(1) // the lookup has read the active key and is held
    keys.value = { ...record, revokedAt: new Date().toISOString() } // the revocation commits…
    verifier.invalidateKey(record.keyHash) // …and its invalidation arrives before the lookup returns
    keys.release()
    await inFlight // answered with what it read, before the revocation
    await expect(Promise.resolve().then(() => verifier.verify(plaintext))).rejects.toMatchObject({ code: 'invalid_api_key' })
    expect(keys.reads).toBe(2)
  })

  it('without an invalidation the lookup is cached (the check above is not vacuous)', async () => {
    const { plaintext, keys, verifier } = keyFixture()
    keys.hold()
    const inFlight = verifier.verify(plaintext)
    await flush()
    keys.release()
    await inFlight
    const again = verifier.verify(plaintext)
    expect(again).not.toBeInstanceOf(Promise)
    expect(keys.reads).toBe(1)
  })

  it('a tenant deleted while its lookup is in flight is read again', async () => {
    const { plaintext, keys, tenants, verifier } = keyFixture()
    tenants.hold()
    const inFlight = verifier.verify(plaintext)
    await flush()
    expect(tenants.reads).toBe(1)
    tenants.value = { ...tenant, deletedAt: new Date().toISOString() }
    verifier.invalidateTenant(tenant.id)
    tenants.release()
    await inFlight
    await expect(Promise.resolve().then(() => verifier.verify(plaintext))).rejects.toMatchObject({ code: 'invalid_api_key' })
    expect(tenants.reads).toBe(2)
    expect(keys.reads).toBe(1) // the key itself was not invalidated
  })
})

describe('UserCache', () => {
  it('tokens revoked while the user lookup is in flight: the next read goes to storage and sees it', async () => {
    const user: User = {
      tenantId: tenant.id,
      environment: 'live',
      id: 'amy',
      kind: 'user',
      visitorKey: null,
      username: null,
      displayName: null,
      avatarUrl: null,
      email: null,
      metadata: null,
      tokensValidAfter: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    }
    const users = new HeldStore<User | null>(user)
    const cache = new UserCache({ find: () => users.read() }, OPTIONS)
    users.hold()
    const inFlight = cache.get(tenant.id, 'live', 'amy')
    await flush()
    const revokedAt = '2026-06-01T00:00:00.000Z'
    users.value = { ...user, tokensValidAfter: revokedAt }
    cache.forget(tenant.id, 'live', 'amy')
    users.release()
    expect((await inFlight)?.validAfterMs).toBe(Date.parse(user.createdAt))
    expect((await cache.get(tenant.id, 'live', 'amy'))?.validAfterMs).toBe(Date.parse(revokedAt))
    expect(users.reads).toBe(2)
  })
})

describe('TtlCache.load', () => {
  it('keeps the read that started after the invalidation, whichever finishes first', async () => {
    for (const order of ['older first', 'newer first']) {
      const cache = new TtlCache<string, string>(10, 60_000)
      const older = new HeldStore('before')
      const newer = new HeldStore('after')
      older.hold()
      newer.hold()
      const first = cache.load('k', () => older.read())
      cache.delete('k')
      const second = cache.load('k', () => newer.read())
      await flush()
      const releases = order === 'older first' ? [older, newer] : [newer, older]
      for (const store of releases) store.release()
      await Promise.all([first, second])
      expect(cache.get('k'), order).toBe('after')
    }
  })

  it('a failed read caches nothing and does not fence the next one', async () => {
    const cache = new TtlCache<string, string>(10, 60_000)
    await expect(cache.load('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down')
    expect(cache.get('k')).toBeUndefined()
    await cache.load('k', async () => 'v')
    expect(cache.get('k')).toBe('v')
  })

  it('clear forgets every entry, and what reads in flight would have stored', async () => {
    const cache = new TtlCache<string, string>(10, 60_000)
    cache.set('a', '1')
    cache.set('b', '2')
    const held = new HeldStore('stale')
    held.hold()
    const reading = cache.load('c', () => held.read())
    await flush()
    cache.clear()
    held.release()
    expect(await reading).toBe('stale')
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.size]).toEqual([undefined, undefined, undefined, 0])
  })
})
