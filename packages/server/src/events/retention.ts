/**
 * Retention of stored events (API.md §12): an event is kept for the retention period after every
 * consumer has it, then deleted. With no consumer registered, every event counts as had when it
 * was made, so events older than the period are deleted.
 *
 * When "every consumer has it" is learnt from watermarks: each run notes how far every consumer
 * had got (the lowest consumer position; the newest event with none) and when. An event may go
 * once a watermark at or past it is older than the period: late by at most one run, never early.
 *
 * Deletes go oldest first in batches of a bounded size, each its own statement (short locks), and a
 * run stops after a bounded number of them; a run that did not finish schedules the next one soon.
 * Several nodes may prune at once: they delete the same oldest rows, which is harmless.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../storage/schema.js'

export interface RetentionOptions {
  /** How long an event is kept once every consumer has it (PARLEY_EVENT_RETENTION_DAYS). */
  retentionMs: number
  onError(error: unknown): void
  /** Time between runs that finished (default a minute). */
  everyMs?: number
  /** Time before the next run when a run stopped at its bound (default a second). */
  catchUpMs?: number
  /** Rows per delete statement, and delete statements per run (default 1,000 and 10). */
  batchRows?: number
  batchesPerRun?: number
}

export interface PruneResult {
  deleted: number
  /** False when the run stopped at its bound with more to delete. */
  finished: boolean
}

export class EventRetention {
  private readonly everyMs: number
  private readonly catchUpMs: number
  private readonly batchRows: number
  private readonly batchesPerRun: number
  private timer: NodeJS.Timeout | null = null
  private running: Promise<unknown> = Promise.resolve()
  private stopped = false

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: RetentionOptions,
  ) {
    this.everyMs = options.everyMs ?? 60_000
    this.catchUpMs = options.catchUpMs ?? 1000
    this.batchRows = options.batchRows ?? 1000
    this.batchesPerRun = options.batchesPerRun ?? 10
  }

  /** Prunes periodically until stop(); the first run comes at a random point of the first period, so nodes spread out. */
  start(): void {
    this.schedule(Math.random() * this.everyMs)
  }

  /** Stops the runs and waits for one in progress. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.running
  }

  async prune(now = Date.now()): Promise<PruneResult> {
    const cutoff = new Date(now - this.options.retentionMs).toISOString()
    const consumers = await this.noteWatermark(new Date(now).toISOString())
    // With consumers: the furthest every one of them had got by the cutoff. Without: no bound.
    const decided = await this.watermarkAt(cutoff)
    const upTo = consumers > 0 ? decided : Number.MAX_SAFE_INTEGER
    let deleted = 0
    for (let batch = 0; batch < this.batchesPerRun; batch++) {
      const rows = await this.deleteOldest(upTo, cutoff)
      deleted += rows
      if (rows < this.batchRows) {
        await this.forgetWatermarksBefore(decided, cutoff)
        return { deleted, finished: true }
      }
    }
    return { deleted, finished: false }
  }

  /** Notes how far every consumer has got at `at`; returns how many consumers there are. */
  private async noteWatermark(at: string): Promise<number> {
    const { count, low } = await this.db
      .selectFrom('event_consumers')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.min('position').as('low')])
      .executeTakeFirstOrThrow()
    const consumers = Number(count)
    let position = Number(low ?? 0)
    if (consumers === 0) {
      const top = await this.db.selectFrom('events').select((eb) => eb.fn.max('position').as('top')).executeTakeFirst()
      position = Number(top?.top ?? 0)
    }
    await this.db
      .insertInto('event_watermarks')
      .values({ position, reached_at: at })
      .onConflict((oc) => oc.column('position').doNothing())
      .execute()
    return consumers
  }

  /** The furthest watermark noted at or before `at` (0 if none). */
  private async watermarkAt(at: string): Promise<number> {
    const row = await this.db
      .selectFrom('event_watermarks')
      .select((eb) => eb.fn.max('position').as('position'))
      .where('reached_at', '<=', at)
      .executeTakeFirst()
    return Number(row?.position ?? 0)
  }

  private async deleteOldest(upTo: number, cutoff: string): Promise<number> {
    const result = await deleteOldest(this.db, upTo, cutoff, this.batchRows).executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  /** Watermarks before the one that decided are never needed again. */
  private async forgetWatermarksBefore(decided: number, cutoff: string): Promise<void> {
    await this.db.deleteFrom('event_watermarks').where('reached_at', '<=', cutoff).where('position', '<', decided).execute()
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      const run = this.prune().then(
        (result) => (result.finished ? this.everyMs : this.catchUpMs),
        (error) => {
          this.options.onError(error)
          return this.everyMs
        },
      )
      this.running = run
      void run.then((next) => this.schedule(next))
    }, delayMs)
    this.timer.unref()
  }
}

/**
 * Deletes the oldest `rows` events by position, of those at or below `upTo`, made before `cutoff`:
 * a primary-key range from the start of the table, never a scan for old rows (exported for the
 * query-plan test). Rows are in creation order but for transactions that commit out of order; such
 * a row only delays the ones behind it until it is old enough itself.
 */
export const deleteOldest = (db: Kysely<Database>, upTo: number, cutoff: string, rows: number) =>
  db
    .deleteFrom('events')
    .where('position', 'in', (eb) => eb.selectFrom('events').select('position').where('position', '<=', upTo).orderBy('position').limit(rows))
    .where('created_at', '<', cutoff)
