/**
 * The pacer (push/pacer.ts) on its own, with a clock and an event-loop figure the test sets: while
 * the node is busy with sends, push work gets SHARE of the time and no more (and no less); nobody
 * waits when it is not busy, and nobody waits past MAX_WAIT_MS.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BUSY_EVENTS_PER_SECOND, CREDIT_MAX_MS, MAX_WAIT_MS, PushPacer, SHARE } from '../../src/push/pacer.js'

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
  /** Keeps the node busy for `ms` (sends committed all along), the clock moving 10 ms at a time. */
  async function busyFor(ms: number) {
    for (let t = 0; t < ms; t += 10) {
      if (t % 100 === 0) busyWithSends()
      await vi.advanceTimersByTimeAsync(10)
    }
  }
  /** Pieces of push work of `pieceMs` each, one after the other, each in its turn; how many ran so far. */
  function work(pieceMs: number) {
    let ran = 0
    let stopped = false
    void (async () => {
      while (!stopped) {
        await pacer.turn()
        if (stopped) return
        ran++
        pacer.spent(pieceMs)
        // A piece ends on a later turn of the event loop (its I/O), as real work does.
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    return { ran: () => ran, stop: () => (stopped = true) }
  }

  it('lets every piece start at once while few events are committed, however busy the loop', async () => {
    const started = turns(100)
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(100)
  })

  it('lets every piece start at once while the loop is mostly idle, however many events are committed', async () => {
    busyWithSends()
    utilization = 0.2
    const started = turns(100)
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(100)
  })

  it('gives push work SHARE of the time while the node is busy: not more, and not less', async () => {
    busyWithSends()
    await vi.advanceTimersByTimeAsync(250)
    const pieceMs = 2
    const pieces = work(pieceMs)
    const seconds = 10
    await busyFor(seconds * 1000)
    pieces.stop()
    const spent = pieces.ran() * pieceMs
    // What SHARE of the time earns, plus what was saved up before, give or take the piece in hand.
    expect(spent).toBeLessThanOrEqual(SHARE * seconds * 1000 + CREDIT_MAX_MS + pieceMs)
    expect(spent).toBeGreaterThanOrEqual(SHARE * seconds * 1000 - pieceMs)
  })

  it('starts one piece per turn of the event loop while busy, so that each is counted before the next', async () => {
    busyWithSends()
    await vi.advanceTimersByTimeAsync(250)
    const started = turns(10)
    await Promise.resolve()
    await Promise.resolve()
    expect(started()).toBe(1)
    // Pieces that cost nothing leave the credit as it was: the others follow, one a turn.
    await vi.advanceTimersByTimeAsync(50)
    expect(started()).toBe(10)
  })

  it('lets all that waits go once the node is no longer busy', async () => {
    busyWithSends()
    await vi.advanceTimersByTimeAsync(250)
    pacer.spent(1000)
    const started = turns(100)
    await busyFor(500)
    expect(started()).toBe(0)
    // A second without sends: no longer busy.
    await vi.advanceTimersByTimeAsync(1200)
    expect(started()).toBe(100)
  })

  it('counts no work done while the node was not busy against it once it is', async () => {
    pacer.spent(60_000)
    busyWithSends()
    await vi.advanceTimersByTimeAsync(250)
    const started = turns(1)
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(1)
  })

  it('lets a piece that waited MAX_WAIT_MS go, busy or not', async () => {
    busyWithSends()
    await vi.advanceTimersByTimeAsync(250)
    // A debt the share would take far longer than MAX_WAIT_MS to pay.
    pacer.spent(10 * MAX_WAIT_MS)
    const started = turns(3)
    await busyFor(MAX_WAIT_MS - 500)
    expect(started()).toBe(0)
    await busyFor(1000)
    expect(started()).toBe(3)
  })

  it('ends the wait of a piece whose node stops, and makes none wait after close', async () => {
    busyWithSends()
    await vi.advanceTimersByTimeAsync(250)
    pacer.spent(1000)
    const controller = new AbortController()
    const started = turns(10, controller)
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(0)
    controller.abort()
    await vi.advanceTimersByTimeAsync(0)
    expect(started()).toBe(10)
    const waiting = turns(5)
    await vi.advanceTimersByTimeAsync(0)
    expect(waiting()).toBe(0)
    pacer.close()
    await vi.advanceTimersByTimeAsync(0)
    expect(waiting()).toBe(5)
    const afterClose = turns(1)
    await vi.advanceTimersByTimeAsync(0)
    expect(afterClose()).toBe(1)
  })
})
