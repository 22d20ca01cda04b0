/**
 * The node's side of the delivery queue: it claims due rows, makes their attempts with bounded
 * concurrency (in all, and per destination, so one slow or dead receiver holds at most its own
 * share of the node), records each outcome and schedules the retry. What an attempt is (the
 * payload, the signature, what an answer means) belongs to the consumer, behind DeliveryHandler
 * (handler.ts).
 *
 * Claiming ahead: the node holds up to twice its concurrency in leased rows, per destination too.
 * Rows beyond the running bound wait in memory and start as attempts finish, and the queue is
 * claimed from again only once a destination's waiting rows run low: one query feeds a round of
 * attempts instead of each attempt costing a query. A lease therefore covers a wait of up to one
 * attempt before the row's own attempt (see leaseMs).
 *
 * Outcomes are written in batches: the attempts that finish while a write is under way are
 * written together in the next transaction, with the consumer's own state changes (an endpoint
 * disabled) in that same transaction.
 */
import { randomBase62 } from '../core/ids.js'
import { type Pace, paced } from '../lib/pace.js'
import type { Clock } from './clock.js'
import type { Attempt, AttemptOutcome, DeliveryHandler } from './handler.js'
import type { DeliveryQueue } from './queue.js'
import type { Delivery } from './rows.js'
import { type RetrySchedule, nextDelayMs } from './schedule.js'

export interface WorkerOptions {
  schedule: RetrySchedule
  /** Attempts running on this node, in all and per destination. */
  concurrency: number
  perDestination: number
  /** How long a claim holds: longer than two attempts (one waited for, its own) and the write. */
  leaseMs: number
  /** How often to look for work nobody announced (other nodes' rows, expired leases, retries). */
  pollMs: number
  /** How long a delivery waits for an earlier one of its conversation (API.md §7: 1 minute). */
  orderWaitMs: number
  /** How long closing waits for running attempts before abandoning them to a later attempt. */
  closeGraceMs: number
  /**
   * How long finished outcomes gather before they are written (default: those of one turn of the
   * event loop). Longer means fewer, larger transactions; the rows stay leased meanwhile.
   */
  flushDelayMs?: number
  /** Background work that gives way to other work (push: sends first): claims and writes wait for their turns. */
  pace?: Pace
}

export interface WorkerEvents {
  onError(error: unknown, context: string): void
  /** After an outcome is written (metrics). */
  onRecorded?(delivery: Delivery, outcome: AttemptOutcome, final: boolean): void
}

interface Held {
  delivery: Delivery
  attempt: Attempt
}

interface Running {
  delivery: Delivery
  controller: AbortController
  done: Promise<void>
}

interface Finished {
  delivery: Delivery
  outcome: AttemptOutcome
}

/** Leased rows a node holds, as a multiple of what it runs. */
const CLAIM_AHEAD = 2

export class DeliveryWorker {
  /** This node's name on its leases; new at every start, so a restarted node never trusts an old lease. */
  readonly owner = `node_${randomBase62(12)}`
  /** Leased and prepared, waiting for a slot, by destination (in claim order). */
  private readonly waiting = new Map<string, Held[]>()
  private readonly running = new Map<string, Running>()
  /** Rows held per destination: running or waiting. */
  private readonly held = new Map<string, number>()
  private heldTotal = 0
  /** Attempts finished and not yet written (their rows stay leased until then). */
  private unwritten = 0
  private readonly runningPer = new Map<string, number>()
  private finished: Finished[] = []
  private writing: Promise<void> | null = null
  private flushScheduled = false
  /** The claim loop under way, if any. */
  private pumping: Promise<void> | null = null
  private again = false
  /**
   * Destinations outside which nothing was claimable at the last look, or null (look again). A
   * claim that would exclude all of them (they are full) is skipped: with one busy destination and
   * a backlog, that claim would read past the whole backlog after every round, to find nothing.
   * Forgotten whenever rows may have become claimable: queued, due by time, or unblocked by a
   * write for another destination.
   */
  private nothingOutside: Set<string> | null = null
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly handler: DeliveryHandler,
    private readonly clock: Clock,
    private readonly options: WorkerOptions,
    private readonly events: WorkerEvents,
  ) {}

  start(): void {
    this.wake()
  }

  /**
   * Looks for due work now: rows were queued (for `queuedFor`, when the caller knows), or the clock
   * moved. Rows queued only for destinations that had nothing claimable outside them leave that
   * knowledge standing: a burst queued batch by batch for one full destination (a send storm's
   * notifications) would otherwise cost a look past the whole backlog per batch.
   */
  wake(queuedFor?: ReadonlySet<string>): void {
    const stillKnown = queuedFor !== undefined && this.nothingOutside !== null && [...queuedFor].every((d) => this.nothingOutside!.has(d))
    if (!stillKnown) this.nothingOutside = null
    this.claim()
  }

  private claim(): void {
    if (this.closed) return
    if (this.pumping) {
      this.again = true
      return
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = null
      if (this.again) this.claim()
    })
  }

  /** Rows this node holds (running, waiting or being written). */
  get busy(): number {
    return this.heldTotal + this.unwritten
  }

  /**
   * Stops claiming, lets running attempts finish for up to closeGraceMs, writes their outcomes,
   * and gives every other held row back to the queue (due at once, for this node's next start or
   * another node).
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    // A claim under way ends first: its rows join the waiting ones, given back below.
    await this.pumping
    const abandoned = [...this.waiting.values()].flat().map((held) => held.delivery.id)
    this.waiting.clear()
    const all = Promise.all([...this.running.values()].map((r) => r.done))
    let grace: NodeJS.Timeout | undefined
    await Promise.race([all, new Promise((resolve) => (grace = setTimeout(resolve, this.options.closeGraceMs)))])
    clearTimeout(grace)
    for (const [id, { controller }] of this.running) {
      abandoned.push(id)
      controller.abort()
    }
    await this.flush()
    await this.queue.release(this.owner, abandoned).catch((error) => this.events.onError(error, 'releasing leases'))
  }

  private async pump(): Promise<void> {
    // Whether the queue ran out of claimable rows (else this node holds all it may, and finished
    // attempts wake it).
    let drained = false
    // Whether the last look was skipped (nothing claimable since the previous look, whose timer stands).
    let skipped = false
    const { concurrency, perDestination } = this.options
    // A destination is claimed for again once it has room for half a round, not for every row
    // that finishes: one claim (two queries, and the consumer's prepare) per many rows.
    const least = Math.max(1, Math.floor(perDestination / 2))
    try {
      do {
        this.again = false
        skipped = false
        // Writes that fall behind stop the claiming too: what is finished waits in memory.
        while (!this.closed && this.heldTotal < CLAIM_AHEAD * concurrency && this.unwritten < CLAIM_AHEAD * concurrency) {
          skipped = false
          // No more candidates than one destination may take: one with a backlog fills a claim
          // with rows it has no room for otherwise (the next claim passes over it).
          const limit = Math.min(CLAIM_AHEAD * perDestination, CLAIM_AHEAD * concurrency - this.heldTotal)
          const room = (destination: string) => CLAIM_AHEAD * perDestination - (this.held.get(destination) ?? 0)
          const full = [...this.held.keys()].filter((destination) => room(destination) < least)
          if (this.nothingOutside && [...this.nothingOutside].every((destination) => full.includes(destination))) {
            drained = true
            skipped = true
            break
          }
          const { leased, drained: out } = await paced(this.options.pace, async () => {
            const claimed = await this.queue.claim({
              owner: this.owner,
              now: this.clock.now(),
              leaseMs: this.options.leaseMs,
              limit,
              full,
              roomFor: room,
              orderWaitMs: this.options.orderWaitMs,
            })
            if (claimed.leased.length > 0) await this.hold(claimed.leased)
            return claimed
          })
          if (leased.length === 0 && out) this.nothingOutside = new Set(full)
          drained = out
          if (drained) break
        }
      } while (this.again && !this.closed)
    } catch (error) {
      this.events.onError(error, 'claiming deliveries')
    }
    // Skipped: nothing became claimable since the look that set the pending timer, which stands.
    if (!this.closed && !(skipped && this.timer)) await this.scheduleNext(drained)
  }

  private async hold(batch: Delivery[]): Promise<void> {
    let attempts: Map<string, Attempt>
    try {
      attempts = await this.handler.prepare(batch)
    } catch (error) {
      // The leases run out and the rows are claimed again.
      this.events.onError(error, 'preparing deliveries')
      return
    }
    for (const delivery of batch) {
      const attempt = attempts.get(delivery.id)
      if (!attempt) continue
      const waiting = this.waiting.get(delivery.destination) ?? []
      waiting.push({ delivery, attempt })
      this.waiting.set(delivery.destination, waiting)
      this.count(this.held, delivery.destination, 1)
      this.heldTotal++
    }
    this.startWaiting()
  }

  /** Starts waiting rows while there are slots, taking destinations in turn. */
  private startWaiting(): void {
    if (this.closed) return
    const { concurrency, perDestination } = this.options
    let started = true
    while (started && this.running.size < concurrency) {
      started = false
      for (const [destination, queue] of this.waiting) {
        if (this.running.size >= concurrency) break
        if ((this.runningPer.get(destination) ?? 0) >= perDestination) continue
        const next = queue.shift()!
        if (queue.length === 0) this.waiting.delete(destination)
        this.run(next)
        started = true
      }
    }
  }

  private run({ delivery, attempt }: Held): void {
    const controller = new AbortController()
    this.count(this.runningPer, delivery.destination, 1)
    const done = (async () => {
      let outcome: AttemptOutcome
      try {
        outcome = await attempt(controller.signal)
      } catch (error) {
        outcome = { status: 'failed', retry: true, retryAfterMs: null, responseStatus: null, durationMs: null, responseBody: null, error: 'internal error' }
        this.events.onError(error, 'delivery attempt')
      }
      // Abandoned at shutdown: its lease is given back, and it is attempted again.
      if (controller.signal.aborted) return
      this.running.delete(delivery.id)
      this.count(this.runningPer, delivery.destination, -1)
      this.count(this.held, delivery.destination, -1)
      this.heldTotal--
      this.unwritten++
      this.finished.push({ delivery, outcome })
      this.startWaiting()
      this.flushSoon()
      this.claimIfLow(delivery.destination)
    })()
    this.running.set(delivery.id, { delivery, controller, done })
  }

  /** Writes after the answers that arrived together have all been read: one transaction for them. */
  private flushSoon(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    const flush = () => {
      this.flushScheduled = false
      void this.flush()
    }
    if (this.options.flushDelayMs) setTimeout(flush, this.options.flushDelayMs)
    else setImmediate(flush)
  }

  /** Writes every finished outcome in one transaction; the next batch waits for this one. */
  private flush(): Promise<void> {
    if (this.writing) return this.writing.then(() => (this.finished.length ? this.flush() : undefined))
    if (this.finished.length === 0) return Promise.resolve()
    const batch = this.finished
    this.finished = []
    this.writing = this.write(batch).finally(() => {
      this.writing = null
      this.unwritten -= batch.length
      if (this.finished.length) void this.flush()
      // Written, the next events of their conversations may be claimed (for a destination that is
      // full, once it has room: then it is no longer excluded).
      if (batch.some(({ delivery }) => !this.nothingOutside?.has(delivery.destination))) this.nothingOutside = null
      for (const { delivery } of batch) this.claimIfLow(delivery.destination)
    })
    return this.writing
  }

  /** Claims again once a destination's waiting rows run low (before its slots run dry), not after every attempt. */
  private claimIfLow(destination: string): void {
    if ((this.waiting.get(destination)?.length ?? 0) <= this.options.perDestination / 2) this.claim()
  }

  private async write(batch: Finished[]): Promise<void> {
    const now = this.clock.now()
    const recorded = batch.map(({ delivery, outcome }) => {
      const delay = outcome.status === 'failed' && outcome.retry ? nextDelayMs(this.options.schedule, delivery.attempt, outcome.retryAfterMs) : null
      return { delivery, outcome, retryAt: delay === null ? null : now + delay }
    })
    let written: Set<string>
    try {
      written = await paced(this.options.pace, () =>
        this.queue.transaction(async (trx) => {
          const ids = await this.queue.record(trx, this.owner, recorded, now)
          const outcomes = recorded.filter(({ delivery }) => ids.has(delivery.id)).map(({ delivery, outcome, retryAt }) => ({ delivery, outcome, final: retryAt === null }))
          if (this.handler.recordedAll) await this.handler.recordedAll(trx, outcomes, now)
          else for (const { delivery, outcome, final } of outcomes) await this.handler.recorded(trx, delivery, outcome, final, now)
          return ids
        }),
      )
    } catch (error) {
      // Not written: the leases run out and the attempts are made again (at least once).
      this.events.onError(error, 'recording deliveries')
      return
    }
    for (const { delivery, outcome, retryAt } of recorded) {
      if (written.has(delivery.id)) this.events.onRecorded?.(delivery, outcome, retryAt === null)
    }
  }

  private count(counts: Map<string, number>, destination: string, by: number): void {
    const value = (counts.get(destination) ?? 0) + by
    if (value > 0) counts.set(destination, value)
    else counts.delete(destination)
  }

  /** Sleeps until the next row falls due, or pollMs at most (other nodes' work is not announced here). */
  private async scheduleNext(drained: boolean): Promise<void> {
    let delay = this.options.pollMs
    if (drained) {
      try {
        const now = this.clock.now()
        const next = await this.queue.nextDue(now)
        // A due row that was not claimed waits for its conversation or a free slot: a finished
        // attempt wakes the worker for those, the poll for the rest.
        if (next !== null && next > now) delay = Math.min(delay, next - now)
      } catch (error) {
        this.events.onError(error, 'reading the queue')
      }
    }
    if (this.closed) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      this.wake()
    }, delay)
    this.timer.unref()
  }
}
