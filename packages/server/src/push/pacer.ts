/**
 * Sends before pushes. While the node is busy with sends — it committed at least
 * BUSY_EVENTS_PER_SECOND messages in the last second and its event loop was at least
 * BUSY_UTILIZATION busy — provider requests start at most PACED_PER_TICK every TICK_MS, and the rest wait: a push
 * is not worth a slower send, and a burst of them (a message to a large group, or a notification
 * for every message of a send storm) would otherwise take the event loop (and, on SQLite, the one
 * connection) from the sends. What waits longer than MAX_WAIT_MS goes ahead anyway, so pushes are
 * late under load, never lost to it; this is well within a claim's lease (setup.ts
 * LEASE_MARGIN_MS). With no other work (a burst alone) nothing waits.
 */
import { performance } from 'node:perf_hooks'

/** Messages committed per second (over the last second) from which the node counts as busy. */
export const BUSY_EVENTS_PER_SECOND = 50
/** Share of the event loop's time spent working (over the last tick) from which it counts as busy. */
const BUSY_UTILIZATION = 0.5
export const TICK_MS = 200
/** Requests started per tick while busy (100 a second). */
export const PACED_PER_TICK = 20
export const MAX_WAIT_MS = 5_000

interface Waiter {
  since: number
  resolve(): void
}

export class PushPacer {
  /** Messages committed per 100 ms slot, over the last second (a ring). */
  private readonly slots = new Array<number>(10).fill(0)
  private slot = 0
  private slotStartedAt = 0
  private waiting: Waiter[] = []
  private timer: NodeJS.Timeout | null = null
  private measuredAt = 0
  private wasBusy = false

  constructor(
    private readonly now: () => number = Date.now,
    /** The share of time the event loop worked since the last call (0–1). */
    private readonly loopUtilization: () => number = eventLoopUtilizationSinceLastCall(),
  ) {}

  /** A message was committed on this node (the bus). */
  committed(): void {
    this.advance(this.now())
    this.slots[this.slot]!++
  }

  /** Resolves when a provider request may start, or at once when `signal` fires (the node stops). */
  turn(signal: AbortSignal): Promise<void> {
    if (this.waiting.length === 0 && !this.busy()) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        since: this.now(),
        resolve: () => {
          signal.removeEventListener('abort', abandon)
          resolve()
        },
      }
      const abandon = () => {
        this.waiting = this.waiting.filter((w) => w !== waiter)
        resolve()
      }
      signal.addEventListener('abort', abandon, { once: true })
      this.waiting.push(waiter)
      this.schedule()
    })
  }

  /** Stops the clock; lets anything still waiting go. */
  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const waiter of this.waiting.splice(0)) waiter.resolve()
  }

  private schedule(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.release()
    }, TICK_MS)
    this.timer.unref()
  }

  private release(): void {
    const now = this.now()
    const busy = this.busy()
    let released = 0
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!
      if (busy && released >= PACED_PER_TICK && now - next.since < MAX_WAIT_MS) break
      this.waiting.shift()
      next.resolve()
      released++
    }
    if (this.waiting.length > 0) this.schedule()
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
