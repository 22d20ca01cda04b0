/**
 * What only the memory limiter has: its own housekeeping. Fake timers drive both the clock and
 * the sweep timer, so windows end without waiting. The shared behaviour is in
 * limiter-conformance.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemoryLimiter } from '../../src/limits/limiter-memory.js'

const HOUR = 3600
const limiters: MemoryLimiter[] = []

function limiter(options: ConstructorParameters<typeof MemoryLimiter>[0] = {}): MemoryLimiter {
  const created = new MemoryLimiter(options)
  limiters.push(created)
  return created
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2030, 0, 1, 12, 0, 0) })
})

afterEach(async () => {
  await Promise.all(limiters.splice(0).map((created) => created.close()))
  vi.useRealTimers()
})

describe('MemoryLimiter housekeeping', () => {
  it('sweeps buckets whose window has ended, and keeps the others', async () => {
    const memory = limiter({ sweepIntervalMs: 5_000 })
    await memory.consume('short-1', 5, 1)
    await memory.consume('short-2', 5, 1)
    await memory.consume('long', 5, HOUR)
    expect(memory.size).toBe(3)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(memory.size).toBe(1)
    expect(await memory.consume('long', 5, HOUR)).toMatchObject({ remaining: 3 })
  })

  it('never holds more than maxBuckets, evicting the bucket whose window started first', async () => {
    const memory = limiter({ maxBuckets: 3, sweepIntervalMs: HOUR * 1000 })
    for (const name of ['a', 'b', 'c', 'd']) await memory.consume(name, 5, HOUR)
    expect(memory.size).toBe(3)
    // 'a' was evicted, so its count starts over; 'd' kept its own.
    expect(await memory.consume('a', 5, HOUR)).toMatchObject({ remaining: 4 })
    expect(await memory.consume('d', 5, HOUR)).toMatchObject({ remaining: 3 })
    expect(memory.size).toBe(3)
  })

  it('at the cap, drops ended windows before evicting live ones', async () => {
    const memory = limiter({ maxBuckets: 2, sweepIntervalMs: HOUR * 1000 })
    await memory.consume('ended', 5, 1)
    await memory.consume('live', 5, HOUR)
    await vi.advanceTimersByTimeAsync(2_000)
    await memory.consume('new', 5, HOUR)
    expect(memory.size).toBe(2)
    expect(await memory.consume('live', 5, HOUR)).toMatchObject({ remaining: 3 })
  })

  it('treats a bucket that started a new window as the newest for eviction', async () => {
    const memory = limiter({ maxBuckets: 2, sweepIntervalMs: HOUR * 1000 })
    await memory.consume('renewed', 5, 1)
    await memory.consume('hourly', 5, HOUR)
    await vi.advanceTimersByTimeAsync(1_000)
    await memory.consume('renewed', 5, 1)
    // Neither window has ended, so eviction order decides: 'hourly' started its window first.
    await memory.consume('new', 5, HOUR)
    expect(await memory.consume('renewed', 5, 1)).toMatchObject({ remaining: 3 })
    expect(await memory.consume('hourly', 5, HOUR)).toMatchObject({ remaining: 4 })
  })
})
