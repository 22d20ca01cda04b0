/**
 * UsageStore: counters add up per key and bucket (a second write to a bucket is an addition, not a
 * unique violation), series read one tenant environment, pruning drops old buckets of one granularity.
 */
import { beforeAll, expect, it } from 'vitest'
import type { Store } from '../../src/storage/database.js'
import { type Counters, type Granularity, emptyCounters } from '../../src/usage/counters.js'
import { type UsageRow, UsageStore } from '../../src/usage/store.js'
import type { OpenStore } from '../helpers/engines.js'
import { type Places, type Scope, isoAt, nextId, twoTenants } from './fixtures.js'

const counters = (requests: number, extra: Partial<Counters> = {}): Counters => ({ ...emptyCounters(), requests, success: requests, latencyMs: requests * 1.5, ...extra })

export function usageStoreConformance(openStore: OpenStore): void {
  let store: Store
  let usage: UsageStore
  let places: Places
  beforeAll(async () => {
    store = await openStore()
    usage = new UsageStore(store.db)
    places = await twoTenants(store)
  })

  const row = (scope: Scope, keyId: string, minute: number, c: Counters): UsageRow => ({ ...scope, keyId, bucket: isoAt(minute), counters: c })
  const add = (granularity: Granularity, ...rows: UsageRow[]) => usage.add(new Map([[granularity, rows]]))

  it('adds a second write to the same key and bucket to the first, on every granularity', async () => {
    const key = nextId('key_')
    for (const granularity of ['minute', 'hour', 'day'] as const) {
      await add(granularity, row(places.a, key, 0, counters(2, { clientErrors: 1, success: 1 })))
      await add(granularity, row(places.a, key, 0, counters(3, { serverErrors: 1, rateLimited: 1, success: 1 })))
      const { points, perKey } = await usage.series(granularity, { ...places.a, keyId: key }, isoAt(0), isoAt(1))
      const total = { requests: 5, success: 2, clientErrors: 1, serverErrors: 1, rateLimited: 1, latencyMs: 7.5 }
      expect(points).toEqual([{ t: isoAt(0), ...total }])
      expect(perKey).toEqual(new Map([[key, total]]))
    }
  })

  it('sums a tenant environment per bucket and per key, over [from, to), never counting another tenant or environment', async () => {
    const { a, aTest, b } = await twoTenants(store)
    const [k1, k2] = [nextId('key_'), nextId('key_')]
    await add('minute', row(a, k1, 10, counters(1)), row(a, k2, 10, counters(2)), row(a, k1, 11, counters(4)), row(a, k1, 12, counters(8)))
    await add('minute', row(aTest, nextId('key_'), 10, counters(100)), row(b, nextId('key_'), 10, counters(1000)))

    const { points, perKey } = await usage.series('minute', a, isoAt(10), isoAt(12))
    expect(points).toEqual([
      { t: isoAt(10), ...counters(3) },
      { t: isoAt(11), ...counters(4) },
    ])
    expect(perKey).toEqual(
      new Map([
        [k1, counters(5)],
        [k2, counters(2)],
      ]),
    )
    expect((await usage.series('minute', { ...a, keyId: k2 }, isoAt(0), isoAt(60))).points).toEqual([{ t: isoAt(10), ...counters(2) }])
    expect((await usage.series('minute', aTest, isoAt(10), isoAt(11))).points).toEqual([{ t: isoAt(10), ...counters(100) }])
  })

  it('prunes buckets older than the cutoff, of one granularity only', async () => {
    const { a } = await twoTenants(store)
    const key = nextId('key_')
    for (const granularity of ['minute', 'hour'] as const) await add(granularity, row(a, key, 1, counters(1)), row(a, key, 2, counters(1)), row(a, key, 3, counters(1)))
    await usage.prune('minute', isoAt(3))
    const buckets = async (granularity: Granularity) => (await usage.series(granularity, a, isoAt(0), isoAt(10))).points.map((p) => p.t)
    expect(await buckets('minute')).toEqual([isoAt(3)])
    expect(await buckets('hour')).toEqual([isoAt(1), isoAt(2), isoAt(3)])
  })
}
