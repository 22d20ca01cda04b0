import { describe, expect, it } from 'vitest'
import { BASE62, newId, newSortableId } from '../src/core/ids.js'

const base62 = `[${BASE62}]`

describe('ids', () => {
  it('random ids are the prefix and 22 base62 characters', () => {
    expect(newId('conversation')).toMatch(new RegExp(`^conv_${base62}{22}$`))
  })

  it('sortable ids are the prefix, 8 characters of time and 17 random characters', () => {
    expect(newSortableId('message')).toMatch(new RegExp(`^msg_${base62}{25}$`))
  })

  it('sortable ids sort by creation time, as strings', () => {
    const times = [0, 61, 62, 3_843, 1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000, 62 ** 8 - 1]
    const ids = times.map((t) => newSortableId('event', t))
    expect([...ids].sort()).toEqual(ids)
    // The time prefix is exactly the creation time: ids of the same millisecond share it.
    expect(newSortableId('event', 1_700_000_000_000).slice(0, 12)).toBe(ids[4]!.slice(0, 12))
  })

  it('sortable ids of the same millisecond still differ', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newSortableId('message', 1_700_000_000_000)))
    expect(ids.size).toBe(10_000)
  })
})
