/** UserStore: users and visitors live in one tenant environment; the same id elsewhere is someone else. */
import { beforeAll, expect, it } from 'vitest'
import type { Store } from '../../src/storage/database.js'
import { UserStore } from '../../src/users/store.js'
import type { OpenStore } from '../helpers/engines.js'
import { type Places, expectUniqueViolation, isoAt, newestFirst, nextId, twoTenants, userRecord, walkPages } from './fixtures.js'

export function userStoreConformance(openStore: OpenStore): void {
  let store: Store
  let users: UserStore
  let places: Places
  beforeAll(async () => {
    store = await openStore()
    users = new UserStore(store.db)
    places = await twoTenants(store)
  })

  it('round-trips a user and a visitor with every field, and finds nothing for an unknown id', async () => {
    const user = userRecord(places.a, { tokensValidAfter: isoAt(3) })
    const visitor = userRecord(places.a, { kind: 'visitor', visitorKey: 'device-1', username: null, avatarUrl: null, metadata: null })
    await users.insert(user)
    await users.insert(visitor)
    expect(await users.find(user.tenantId, user.environment, user.id)).toEqual(user)
    expect(await users.find(visitor.tenantId, visitor.environment, visitor.id)).toEqual(visitor)
    expect(await users.findVisitor(visitor.tenantId, visitor.environment, 'device-1')).toEqual(visitor)
    expect(await users.find(places.a.tenantId, 'live', 'u_missing')).toBeNull()
    expect(await users.findVisitor(places.a.tenantId, 'live', 'device-missing')).toBeNull()
  })

  it('keeps the same id in another tenant or environment a different user', async () => {
    const id = nextId('u')
    const copies = [places.a, places.aTest, places.b].map((scope, i) => userRecord(scope, { id, displayName: `copy ${i}` }))
    for (const user of copies) await users.insert(user)
    for (const user of copies) expect(await users.find(user.tenantId, user.environment, id)).toEqual(user)

    const only = userRecord(places.a)
    await users.insert(only)
    expect(await users.find(places.b.tenantId, 'live', only.id)).toBeNull()
    expect(await users.find(places.a.tenantId, 'test', only.id)).toBeNull()
    expect(await users.existing(places.a.tenantId, 'live', [id, only.id, 'u_missing'])).toEqual(new Set([id, only.id]))
    expect(await users.existing(places.b.tenantId, 'live', [id, only.id])).toEqual(new Set([id]))
    expect(await users.existing(places.b.tenantId, 'live', [])).toEqual(new Set())
  })

  it('finds a visitor by its device id only in its own tenant environment', async () => {
    const visitor = userRecord(places.a, { kind: 'visitor', visitorKey: 'device-scoped' })
    await users.insert(visitor)
    expect(await users.findVisitor(places.b.tenantId, 'live', 'device-scoped')).toBeNull()
    expect(await users.findVisitor(places.a.tenantId, 'test', 'device-scoped')).toBeNull()
  })

  it('pages one tenant environment newest first without gaps or repeats when createdAt ties', async () => {
    const { a, aTest, b } = await twoTenants(store)
    const made = [2, 2, 2, 2, 0, 5].map((minute) => userRecord(a, { createdAt: isoAt(minute) }))
    for (const user of made) await users.insert(user)
    await users.insert(userRecord(aTest))
    await users.insert(userRecord(b))
    const walked = await walkPages((limit, after) => users.list(a.tenantId, a.environment, limit, after), (u) => u.createdAt)
    expect(walked.map((u) => u.id)).toEqual(newestFirst(made, (u) => u.createdAt).map((u) => u.id))
  })

  it('updates only the fields given, and only in the user’s own tenant environment', async () => {
    const id = nextId('u')
    const [mine, theirs] = [userRecord(places.a, { id }), userRecord(places.b, { id })]
    await users.insert(mine)
    await users.insert(theirs)
    await users.update(mine, { displayName: 'Renamed', metadata: null, tokensValidAfter: isoAt(9) }, isoAt(9))
    expect(await users.find(mine.tenantId, mine.environment, id)).toEqual({
      ...mine,
      displayName: 'Renamed',
      metadata: null,
      tokensValidAfter: isoAt(9),
      updatedAt: isoAt(9),
    })
    expect(await users.find(theirs.tenantId, theirs.environment, id)).toEqual(theirs)
  })

  it('deletes only in the user’s own tenant environment', async () => {
    const id = nextId('u')
    const [mine, other] = [userRecord(places.a, { id }), userRecord(places.aTest, { id })]
    await users.insert(mine)
    await users.insert(other)
    await users.delete(mine)
    expect(await users.find(mine.tenantId, mine.environment, id)).toBeNull()
    expect(await users.find(other.tenantId, other.environment, id)).toEqual(other)
  })

  it('refuses a second user with the same id, or a second visitor with the same device id, as a unique violation', async () => {
    const user = userRecord(places.a)
    await users.insert(user)
    await expectUniqueViolation(users.insert({ ...user, displayName: 'Impostor' }))
    expect(await users.find(user.tenantId, user.environment, user.id)).toEqual(user)

    await users.insert(userRecord(places.a, { kind: 'visitor', visitorKey: 'device-twice' }))
    await expectUniqueViolation(users.insert(userRecord(places.a, { kind: 'visitor', visitorKey: 'device-twice' })))
    // The same device in the other environment is another visitor; users without one never collide.
    await users.insert(userRecord(places.aTest, { kind: 'visitor', visitorKey: 'device-twice' }))
    await users.insert(userRecord(places.a, { visitorKey: null }))
    await users.insert(userRecord(places.a, { visitorKey: null }))
  })
}
