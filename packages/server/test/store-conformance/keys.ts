/** KeyStore: lookups by hash (the auth path) and by id within a tenant environment, paging, the roll, lastUsedAt. */
import { beforeAll, expect, it } from 'vitest'
import { KeyStore } from '../../src/keys/store.js'
import type { Store } from '../../src/storage/database.js'
import type { OpenStore } from '../helpers/engines.js'
import { type Places, type Scope, expectUniqueViolation, isoAt, keyRecord, newestFirst, twoTenants, walkPages } from './fixtures.js'

export function keyStoreConformance(openStore: OpenStore): void {
  let store: Store
  let keys: KeyStore
  let places: Places
  beforeAll(async () => {
    store = await openStore()
    keys = new KeyStore(store.db)
    places = await twoTenants(store)
  })
  /** Tenants of their own, for tests that look at whole listings or counts. */
  const freshPlaces = () => twoTenants(store)

  it('round-trips every field by id and by hash, and finds nothing for an unknown one', async () => {
    const key = keyRecord(places.a, { type: 'publishable', allowedOrigins: ['https://a.example', 'http://localhost:5173'], visitorTtlSeconds: 3600 })
    await keys.insert(key)
    expect(await keys.find(key.tenantId, key.environment, key.id)).toEqual(key)
    expect(await keys.findByHash(key.keyHash)).toEqual(key)
    const bare = keyRecord(places.a, { scopes: [], rateLimit: null, metadata: null, expiresAt: null })
    await keys.insert(bare)
    expect(await keys.find(bare.tenantId, bare.environment, bare.id)).toEqual(bare)
    expect(await keys.find(places.a.tenantId, 'live', 'key_missing')).toBeNull()
    expect(await keys.findByHash('hash_missing')).toBeNull()
  })

  it("never finds or lists a key from another tenant or the other environment", async () => {
    const { a, aTest, b } = await freshPlaces()
    const [inA, inTest, inB] = [keyRecord(a), keyRecord(aTest), keyRecord(b)]
    for (const key of [inA, inTest, inB]) await keys.insert(key)
    expect(await keys.find(b.tenantId, b.environment, inA.id)).toBeNull()
    expect(await keys.find(aTest.tenantId, aTest.environment, inA.id)).toBeNull()
    expect(await keys.find(a.tenantId, a.environment, inTest.id)).toBeNull()
    const listed = (scope: Scope) => keys.list(scope.tenantId, scope.environment, 100, null).then((rows) => rows.map((k) => k.id))
    expect(await listed(a)).toEqual([inA.id])
    expect(await listed(aTest)).toEqual([inTest.id])
    expect(await listed(b)).toEqual([inB.id])
  })

  it('pages newest first without gaps or repeats when createdAt ties', async () => {
    const { b } = await freshPlaces()
    const made = [3, 3, 3, 3, 3, 1, 7].map((minute) => keyRecord(b, { createdAt: isoAt(minute) }))
    for (const key of made) await keys.insert(key)
    const walked = await walkPages((limit, after) => keys.list(b.tenantId, b.environment, limit, after), (k) => k.createdAt)
    expect(walked.map((k) => k.id)).toEqual(newestFirst(made, (k) => k.createdAt).map((k) => k.id))
  })

  it('counts the active keys of one tenant environment: not revoked, not expired', async () => {
    const { a, aTest } = await freshPlaces()
    const now = isoAt(60)
    for (const overrides of [{}, { expiresAt: null }, { revokedAt: isoAt(1) }, { expiresAt: isoAt(59) }, { expiresAt: isoAt(61) }]) {
      await keys.insert(keyRecord(a, overrides))
    }
    await keys.insert(keyRecord(aTest))
    expect(await keys.countActive(a.tenantId, a.environment, now)).toBe(3)
    expect(await keys.countActive(aTest.tenantId, aTest.environment, now)).toBe(1)
  })

  it('updates only the fields given', async () => {
    const key = keyRecord(places.a)
    await keys.insert(key)
    await keys.update(key.id, { name: 'renamed', scopes: ['users:read'], metadata: null }, isoAt(5))
    expect(await keys.findByHash(key.keyHash)).toEqual({ ...key, name: 'renamed', scopes: ['users:read'], metadata: null, updatedAt: isoAt(5) })
    await keys.update(key.id, { revokedAt: isoAt(6) }, isoAt(6))
    expect(await keys.findByHash(key.keyHash)).toMatchObject({ name: 'renamed', revokedAt: isoAt(6), updatedAt: isoAt(6) })
  })

  it('rolls in one transaction: the replacement and the old key’s shortened life, or neither', async () => {
    const old = keyRecord(places.a)
    await keys.insert(old)
    const replacement = keyRecord(places.a, { createdAt: isoAt(10), updatedAt: isoAt(10) })
    expect(await keys.insertRolled(replacement, old.id, isoAt(70))).toBe(true)
    expect(await keys.findByHash(replacement.keyHash)).toEqual(replacement)
    expect(await keys.findByHash(old.keyHash)).toMatchObject({ expiresAt: isoAt(70), rolledTo: replacement.id, updatedAt: isoAt(10) })

    const other = keyRecord(places.a)
    await keys.insert(other)
    // A replacement whose hash is taken fails, and the old key is left as it was.
    await expectUniqueViolation(keys.insertRolled(keyRecord(places.a, { keyHash: old.keyHash }), other.id, isoAt(80)))
    expect(await keys.findByHash(other.keyHash)).toEqual(other)
  })

  it('refuses to roll a key rolled or revoked meanwhile, and writes nothing', async () => {
    const old = keyRecord(places.a)
    await keys.insert(old)
    const first = keyRecord(places.a, { createdAt: isoAt(10), updatedAt: isoAt(10) })
    const second = keyRecord(places.a, { createdAt: isoAt(11), updatedAt: isoAt(11) })
    expect(await keys.insertRolled(first, old.id, isoAt(70))).toBe(true)
    expect(await keys.insertRolled(second, old.id, isoAt(71))).toBe(false)
    expect(await keys.findByHash(second.keyHash)).toBeNull()
    expect(await keys.findByHash(old.keyHash)).toMatchObject({ expiresAt: isoAt(70), rolledTo: first.id })

    const revoked = keyRecord(places.a, { revokedAt: isoAt(5) })
    await keys.insert(revoked)
    expect(await keys.insertRolled(keyRecord(places.a), revoked.id, isoAt(72))).toBe(false)
  })

  it('writes many lastUsedAt in one call', async () => {
    const [first, second] = [keyRecord(places.a), keyRecord(places.b)]
    await keys.insert(first)
    await keys.insert(second)
    await keys.touchLastUsed(new Map())
    await keys.touchLastUsed(
      new Map([
        [first.id, isoAt(20)],
        [second.id, isoAt(21)],
      ]),
    )
    expect((await keys.findByHash(first.keyHash))?.lastUsedAt).toBe(isoAt(20))
    expect((await keys.findByHash(second.keyHash))?.lastUsedAt).toBe(isoAt(21))
  })

  it('refuses a second key with the same hash or the same id as a unique violation', async () => {
    const key = keyRecord(places.a)
    await keys.insert(key)
    await expectUniqueViolation(keys.insert(keyRecord(places.b, { keyHash: key.keyHash })))
    await expectUniqueViolation(keys.insert(keyRecord(places.a, { id: key.id })))
    expect(await keys.findByHash(key.keyHash)).toEqual(key)
  })
}
