/**
 * Sends before pushes. While the node is busy with sends — it committed at least
 * BUSY_EVENTS_PER_SECOND messages in the last second and its event loop was at least
 * BUSY_UTILIZATION busy — push work (reading new messages for their notifications, claiming
 * notifications, the provider requests, writing their outcomes) takes at most SHARE of the node's
 * time: each piece says how long it ran, and the next one starts once the time earned at SHARE of
 * the clock has paid for it (a credit of at most CREDIT_MAX_MS saved up). A send storm that makes
 * a notification of every message is therefore slowed by about SHARE, not by however much push work
 * it makes: the pushes fall behind while it lasts (what they still need is durable, in the outbox
 * and the delivery queue) and catch up at full speed once it ends. With no other work (a burst to a
 * large group alone) nothing waits.
 *
 * A piece that waited MAX_WAIT_MS goes anyway: claimed notifications wait in memory, and their
 * claim (setup.ts) lasts longer than that.
 */
import { performance } from 'node:perf_hooks'
import type { Pace } from '../lib/pace.js'

/** Messages committed per second (over the last second) from which the node counts as busy. */
export const BUSY_EVENTS_PER_SECOND = 50
/** Share of the event loop's time spent working (over the last tick) from which it counts as busy. */
const BUSY_UTILIZATION = 0.5
/** How often busyness is measured, at most. */
const TICK_MS = 200
/** The share of the node's time push work may take while it is busy with sends. */
export const SHARE = 0.05
/** Push time saved up while push had nothing to do, spent at once when it has (ms). */
export const CREDIT_MAX_MS = 10
/** How long a piece waits at most, busy or not (within a claim's lease). */
export const MAX_WAIT_MS = 10_000

interface Waiter {
  since: number
  resolve(): void
}

export class PushPacer implements Pace {
  /** Messages committed per 100 ms slot, over the last second (a ring). */
  private readonly slots = new Array<number>(10).fill(0)
  private slot = 0
  private slotStartedAt = 0
  private credit = CREDIT_MAX_MS
  private creditAt: number
  private waiting: Waiter[] = []
  private timer: NodeJS.Timeout | null = null
  private immediate: NodeJS.Immediate | null = null
  private measuredAt = 0
  private wasBusy = false
  private closed = false
  /** While busy, one piece starts per turn of the event loop, so that each says what it spent before the next. */
  private startedThisTurn = false

  constructor(
    private readonly now: () => number = () => performance.now(),
    /** The share of time the event loop worked since the last call (0–1). */
    private readonly loopUtilization: () => number = eventLoopUtilizationSinceLastCall(),
  ) {
    this.creditAt = now()
  }

  /** A message was committed on this node (the bus). */
  committed(): void {
    this.advance(this.now())
    this.slots[this.slot]!++
  }

  turn(signal?: AbortSignal): Promise<void> {
    if (this.closed || (this.waiting.length === 0 && this.mayStartNow())) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        since: this.now(),
        resolve: () => {
          signal?.removeEventListener('abort', abandon)
          resolve()
        },
      }
      const abandon = () => {
        this.waiting = this.waiting.filter((w) => w !== waiter)
        resolve()
      }
      signal?.addEventListener('abort', abandon, { once: true })
      this.waiting.push(waiter)
      this.schedule()
    })
  }

  spent(ms: number): void {
    // Work done while the node is not busy costs the sends nothing.
    if (!this.busy()) return
    this.earn()
    this.credit -= ms
  }

  /** Stops pacing (the node stops): what waits goes, and so does whatever asks from now on. */
  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    this.timer = null
    this.immediate = null
    for (const waiter of this.waiting.splice(0)) waiter.resolve()
  }

  /** Busy: many messages committed lately and the event loop mostly working (measured at most once per tick). */
  busy(): boolean {
    const now = this.now()
    if (now - this.measuredAt < TICK_MS) return this.wasBusy
    this.measuredAt = now
    this.advance(now)
    const utilization = this.loopUtilization()
    this.wasBusy = this.slots.reduce((sum, n) => sum + n, 0) >= BUSY_EVENTS_PER_SECOND && utilization >= BUSY_UTILIZATION
    return this.wasBusy
  }

  private mayStart(): boolean {
    if (!this.busy()) return true
    this.earn()
    return this.credit > 0
  }

  /**
   * For a piece that asks while nobody waits: while busy, only the first of this turn of the event
   * loop (many asking at once — a claim's attempts — would all find the credit unspent).
   */
  private mayStartNow(): boolean {
    if (!this.mayStart()) return false
    if (!this.wasBusy) return true
    if (this.startedThisTurn) return false
    this.startedThisTurn = true
    setImmediate(() => (this.startedThisTurn = false))
    return true
  }

  /** Credit for the time since it was last counted, at SHARE. */
  private earn(): void {
    const now = this.now()
    this.credit = Math.min(CREDIT_MAX_MS, this.credit + (now - this.creditAt) * SHARE)
    this.creditAt = now
  }

  /**
   * The next look at the line: right after what was let go has run (and said what it spent) while
   * there is credit; else once the credit will have paid for the debt (busyness looked at again
   * every tick at least).
   */
  private schedule(): void {
    if (this.timer || this.immediate) return
    this.earn()
    if (this.credit > 0 || !this.busy()) {
      this.immediate = setImmediate(() => {
        this.immediate = null
        this.release()
      })
      return
    }
    const wait = Math.min(TICK_MS, Math.ceil(-this.credit / SHARE) + 1)
    this.timer = setTimeout(() => {
      this.timer = null
      this.release()
    }, wait)
    this.timer.unref()
  }

  /** While the node is not busy, all who wait go; while it is, the first, if it has credit (or waited too long). */
  private release(): void {
    if (!this.busy()) {
      for (const waiter of this.waiting.splice(0)) waiter.resolve()
      return
    }
    const first = this.waiting[0]
    if (first && (this.mayStart() || this.now() - first.since >= MAX_WAIT_MS)) {
      this.waiting.shift()
      first.resolve()
    }
    if (this.waiting.length > 0) this.schedule()
  }

  /** Moves the ring to the slot of `now`, clearing the slots passed. */
  private advance(now: number): void {
    const passed = Math.min(this.slots.length, Math.floor((now - this.slotStartedAt) / 100))
    if (passed <= 0) return
    for (let i = 0; i < passed; i++) {
      this.slot = (this.slot + 1) % this.slots.length
      this.slots[this.slot] = 0
    }
    this.slotStartedAt = now - ((now - this.slotStartedAt) % 100)
  }
}

function eventLoopUtilizationSinceLastCall(): () => number {
  let last = performance.eventLoopUtilization()
  return () => {
    const since = performance.eventLoopUtilization(last)
    last = performance.eventLoopUtilization()
    return since.utilization
  }
}
