/**
 * The pacer (push/pacer.ts) on its own, with a clock and an event-loop figure the test sets: sends
 * first while the node is busy, nobody waits when it is not, and nobody waits past MAX_WAIT_MS.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BUSY_EVENTS_PER_SECOND, MAX_WAIT_MS, PACED_PER_TICK, PushPacer, TICK_MS } from '../../src/push/pacer.js'

describe('push pacer', () => {
  let utilization = 1
  let pacer: PushPacer
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
    utilization = 1
    pacer = new PushPacer(Date.now, () => utilization)
  })
  afterEach(() => {
    pacer.close()
    vi.useRealTimers()
  })

  /** `count` turns; how many have started so far, as a function. */
  function turns(count: number, controller?: AbortController) {
    let started = 0
    for (let i = 0; i < count; i++) void pacer.turn((controller ?? new AbortController()).signal).then(() => started++)
    return () => started
  }
  const busyWithSends = () => {
    for (let i = 0; i < BUSY_EVENTS_PER_SECOND; i++) pacer.committed()
  }

  it('lets every request start at once while few events are committed, however busy the loop', async () => {
    const started = turns(100)
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(100)
  })

  it('lets every request start at once while the loop is mostly idle, however many events are committed', async () => {
    busyWithSends()
    utilization = 0.2
    const started = turns(100)
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(100)
  })

  it('starts PACED_PER_TICK requests a tick while the node is busy, then all of them once it is not', async () => {
    busyWithSends()
    const started = turns(100)
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(0)
    await vi.advanceTimersByTimeAsync(TICK_MS)
    expect(started()).toBe(PACED_PER_TICK)
    busyWithSends()
    await vi.advanceTimersByTimeAsync(TICK_MS)
    expect(started()).toBe(2 * PACED_PER_TICK)
    // A second without events: no longer busy.
    await vi.advanceTimersByTimeAsync(1000)
    expect(started()).toBe(100)
  })

  it('lets a request that waited MAX_WAIT_MS go, busy or not', async () => {
    busyWithSends()
    const started = turns(1000)
    for (let t = 0; t < MAX_WAIT_MS - TICK_MS; t += TICK_MS) {
      busyWithSends()
      await vi.advanceTimersByTimeAsync(TICK_MS)
    }
    expect(started()).toBeLessThanOrEqual((MAX_WAIT_MS / TICK_MS) * PACED_PER_TICK)
    busyWithSends()
    await vi.advanceTimersByTimeAsync(2 * TICK_MS)
    expect(started()).toBe(1000)
  })

  it('ends the wait of a request whose node stops', async () => {
    busyWithSends()
    const controller = new AbortController()
    const started = turns(10, controller)
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(0)
    controller.abort()
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(10)
  })
})
