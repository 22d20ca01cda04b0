/** TenantStore: tenants are the top of the isolation, so its contract is round trips, paging and soft delete. */
import { beforeAll, expect, it } from 'vitest'
import { TenantStore } from '../../src/tenants/store.js'
import type { OpenStore } from '../helpers/engines.js'
import { expectUniqueViolation, isoAt, newestFirst, tenantRecord, walkPages } from './fixtures.js'

export function tenantStoreConformance(openStore: OpenStore): void {
  let tenants: TenantStore
  beforeAll(async () => {
    tenants = new TenantStore((await openStore()).db)
  })

  it('round-trips every field, and finds nothing for an unknown id', async () => {
    const tenant = tenantRecord({ suspended: true, plan: 'starter' })
    await tenants.insert(tenant)
    expect(await tenants.find(tenant.id)).toEqual(tenant)
    const plain = tenantRecord({ rateLimit: null })
    await tenants.insert(plain)
    expect(await tenants.find(plain.id)).toEqual(plain)
    expect(await tenants.find('ten_missing')).toBeNull()
  })

  it('updates only the fields given', async () => {
    const tenant = tenantRecord()
    await tenants.insert(tenant)
    await tenants.update(tenant.id, { name: 'Renamed' }, isoAt(5))
    expect(await tenants.find(tenant.id)).toEqual({ ...tenant, name: 'Renamed', updatedAt: isoAt(5) })
    await tenants.update(tenant.id, { rateLimit: null, suspended: true, plan: 'free' }, isoAt(6))
    expect(await tenants.find(tenant.id)).toEqual({ ...tenant, name: 'Renamed', rateLimit: null, suspended: true, plan: 'free', updatedAt: isoAt(6) })
  })

  it('pages newest first without gaps or repeats when createdAt ties, and leaves deleted tenants out of the list only', async () => {
    // Far in the future, so these are the first page whatever the other tests inserted.
    const made = [0, 0, 0, 0, 1, 2, 2].map((minute) => tenantRecord({ createdAt: isoAt(100_000 + minute) }))
    for (const tenant of made) await tenants.insert(tenant)
    const deleted = made[2]!
    await tenants.update(deleted.id, { deletedAt: isoAt(9) }, isoAt(9))
    expect((await tenants.find(deleted.id))?.deletedAt).toBe(isoAt(9))

    const alive = newestFirst(
      made.filter((t) => t !== deleted),
      (t) => t.createdAt,
    ).map((t) => t.id)
    expect((await tenants.list(6, null)).map((t) => t.id)).toEqual(alive)
    const walked = await walkPages((limit, after) => tenants.list(limit, after), (t) => t.createdAt)
    expect(walked.map((t) => t.id).slice(0, 6)).toEqual(alive)
    expect(new Set(walked.map((t) => t.id)).size).toBe(walked.length)
    expect(walked.map((t) => t.id)).not.toContain(deleted.id)
  })

  it('refuses a second tenant with the same id as a unique violation', async () => {
    const tenant = tenantRecord()
    await tenants.insert(tenant)
    await expectUniqueViolation(tenants.insert({ ...tenant, name: 'Impostor' }))
    expect((await tenants.find(tenant.id))?.name).toBe(tenant.name)
  })
}
