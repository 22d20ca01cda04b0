/**
 * Reading the outbox as one event consumer (consumers.ts), the machinery the webhook and push
 * fan-outs share: events are read in position order, a batch at a time, and each batch's fresh
 * events are handled (deliveries queued, notifications written: the consumer's `handle`) in one
 * transaction with the consumer's new position.
 *
 * It reads when asked (`run`: the consumer's node committed an event it wants) and every `pollMs`
 * for events committed by other nodes. Concurrent calls fold into the one running. On PostgreSQL
 * nodes take turns (the consumer row is locked, and a node that finds it locked leaves the work to
 * the holder).
 *
 * Gaps: on PostgreSQL a transaction can commit after a later one, so position n+1 may be visible
 * before n. Events past a gap are handled at once, but the position stops before the gap until the
 * gap is filled or has stayed open for GAP_WAIT_MS (its transaction rolled back), so an event that
 * commits late is never skipped.
 */
import type { Kysely } from 'kysely'
import { type Pace, paced } from '../lib/pace.js'
import type { Dialect } from '../storage/database.js'
import type { Database } from '../storage/schema.js'
import type { EventConsumers } from './consumers.js'

const GAP_WAIT_MS = 10_000

/** An event as the reader reads it: what a consumer needs to decide about it, without its data. */
export interface OutboxEvent {
  position: number
  id: string
  tenant_id: string
  environment: 'live' | 'test'
  type: string
  conversation_id: string | null
}

/** What the reader needs of the queue: a transaction, in which a batch is handled. */
export interface Transactions {
  transaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T>
}

/** What differs between consumers. */
export interface OutboxConsumer<Handled> {
  /** The consumer's name in event_consumers (registered by a migration). */
  name: string
  /**
   * Events per transaction (`read`); while the consumer has nothing to do, events are passed over
   * unread, `skip` per transaction.
   */
  batches: { read: number; skip: number }
  pollMs: number
  /** Whether no event needs handling right now (e.g. no endpoint anywhere). */
  idle(trx: Kysely<Database>): Promise<boolean>
  /** Handles the batch's events not handled yet, in the batch's transaction; `now` was read before it began. */
  handle(trx: Kysely<Database>, fresh: OutboxEvent[], now: number): Promise<Handled>
  /** After the batch's transaction committed, with what `handle` returned. */
  handled(result: Handled): void
  /** At start and every pollMs, before reading. */
  onPoll(): void
  /**
   * Background work that gives way to the node's other work (push: sends go first): each batch
   * waits for its turn, and another batch waits for what else is on this turn of the event loop.
   * Without it, batches follow each other at once.
   */
  pace?: Pace
  onError(error: unknown, context: string): void
  /** What a failed read is reported as. */
  errorContext: string
}

export class OutboxReader<Handled> {
  private readonly gapsSeenAt = new Map<number, number>()
  /** Positions past the consumer's position (beyond a gap) already handled by this node. */
  private readonly queued = new Set<number>()
  private current: Promise<void> | null = null
  private again = false
  private stopped = false
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly dialect: Dialect,
    private readonly consumers: EventConsumers,
    /** The queue's transactions: what a batch writes commits with the consumer's new position. */
    private readonly transactions: Transactions,
    /** The queue's clock. */
    private readonly clock: { now(): number },
    private readonly options: OutboxConsumer<Handled>,
  ) {}

  /** Reads now and every pollMs (again after a stop). */
  start(): void {
    this.stopped = false
    const tick = () => {
      this.options.onPoll()
      this.run()
    }
    this.timer = setInterval(tick, this.options.pollMs)
    this.timer.unref()
    tick()
  }

  /** Stops reading; resolves once a batch under way is written. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.current
  }

  /** Reads the outbox until it has caught up; concurrent calls fold into the one running. */
  run(): void {
    if (this.stopped) return
    if (this.current) {
      this.again = true
      return
    }
    this.current = (async () => {
      try {
        do {
          this.again = false
          while (!this.stopped && (await paced(this.options.pace, () => this.step()))) {
            if (this.options.pace) await new Promise((resolve) => setImmediate(resolve))
          }
        } while (this.again && !this.stopped)
      } catch (error) {
        this.options.onError(error, this.options.errorContext)
      } finally {
        this.current = null
      }
    })()
  }

  /** One batch; true when there may be more to read right away. */
  private async step(): Promise<boolean> {
    const { name, batches } = this.options
    const consumers = this.consumers
    const now = this.clock.now()
    const result = await this.transactions.transaction(async (trx) => {
      let consumer = trx.selectFrom('event_consumers').select('position').where('name', '=', name)
      if (this.dialect === 'postgres') consumer = consumer.forUpdate().skipLocked()
      const row = await consumer.executeTakeFirst()
      // Locked: another node is reading, and will handle what is there.
      if (!row) return null
      const cursor = Number(row.position)
      const skippedTo = await this.passOverWhileIdle(trx, cursor)
      if (skippedTo !== null) {
        await consumers.advance(name, skippedTo, trx)
        return { cursor, end: skippedTo, fresh: [], handled: null, full: skippedTo - cursor === batches.skip }
      }
      const events = (await trx
        .selectFrom('events')
        .select(['position', 'id', 'tenant_id', 'environment', 'type', 'conversation_id'])
        .where('position', '>', cursor)
        .orderBy('position')
        .limit(batches.read)
        .execute()) as OutboxEvent[]
      if (events.length === 0) return null
      const fresh = events.filter((e) => !this.queued.has(Number(e.position)))
      const handled = { result: await this.options.handle(trx, fresh, now) }
      const end = this.endBeforeGaps(cursor, events)
      await consumers.advance(name, end, trx)
      return { cursor, end, fresh, handled, full: events.length === batches.read }
    })
    if (!result) return false
    for (const position of this.queued) if (position <= result.end) this.queued.delete(position)
    for (const position of this.gapsSeenAt.keys()) if (position <= result.end) this.gapsSeenAt.delete(position)
    for (const event of result.fresh) if (Number(event.position) > result.end) this.queued.add(Number(event.position))
    if (result.handled) this.options.handled(result.handled.result)
    return result.full && result.end > result.cursor
  }

  /**
   * While the consumer has nothing to do (no endpoint, no provider: the usual state of a node that
   * serves no webhooks) no event needs handling: the position moves past an unbroken run of events
   * without reading them, which keeps this consumer's cost off the send path. The look that decides
   * it comes after the run is read: an endpoint or provider created later wants only events
   * committed after it, which the run cannot hold. (The first look only spares the aggregate when
   * there is something to do.)
   * Null: read the rows (the consumer has something to do, or the run has a gap).
   */
  private async passOverWhileIdle(trx: Kysely<Database>, cursor: number): Promise<number | null> {
    if (!(await this.options.idle(trx))) return null
    const end = await this.consumers.contiguousEnd(cursor, this.options.batches.skip, trx)
    if (end === null || !(await this.options.idle(trx))) return null
    return end
  }

  /** The position to record: the end of the events read, short of any gap that may still fill. */
  private endBeforeGaps(cursor: number, events: OutboxEvent[]): number {
    let end = cursor
    for (const event of events) {
      const position = Number(event.position)
      if (position === end + 1) {
        end = position
        continue
      }
      // Real time: what matters is how long a transaction can stay open, not the queue's clock.
      const seenAt = this.gapsSeenAt.get(end + 1) ?? Date.now()
      this.gapsSeenAt.set(end + 1, seenAt)
      if (Date.now() - seenAt < GAP_WAIT_MS) break
      end = position
    }
    return end
  }
}
