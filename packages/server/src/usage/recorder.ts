/**
 * Usage counting without a storage write per request: every authenticated response adds to an
 * in-memory counter for its key and minute; the flusher writes all counters in one transaction
 * per interval (minute, hour and day buckets at once, so no rollup job is needed). A graceful
 * shutdown flushes; a crash loses at most one flush interval of counts.
 */
import type { Environment } from '../core/environment.js'
import { type Counters, type Granularity, add, bucketOf, count, emptyCounters } from './counters.js'
import type { UsageRow, UsageStore } from './store.js'

interface Pending {
  keyId: string
  tenantId: string
  environment: Environment
  minuteMs: number
  counters: Counters
}

export interface Retention {
  minutesMs: number
  hoursMs: number
}

/** Observers of each flushed batch (alert rules). */
export type FlushListener = (rows: readonly UsageRow[]) => Promise<void> | void

export class UsageRecorder {
  private pending = new Map<string, Pending>()
  private readonly listeners: FlushListener[] = []

  constructor(
    private readonly store: UsageStore,
    private readonly retention: Retention,
  ) {}

  record(keyId: string, tenantId: string, environment: Environment, status: number, latencyMs: number, now = Date.now()): void {
    const minuteMs = now - (now % 60_000)
    const slot = `${keyId}|${minuteMs}`
    let entry = this.pending.get(slot)
    if (!entry) {
      entry = { keyId, tenantId, environment, minuteMs, counters: emptyCounters() }
      this.pending.set(slot, entry)
    }
    count(entry.counters, status, latencyMs)
  }

  onFlush(listener: FlushListener): void {
    this.listeners.push(listener)
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = [...this.pending.values()]
    this.pending = new Map()
    const rows = new Map<Granularity, UsageRow[]>()
    for (const granularity of ['minute', 'hour', 'day'] as const) {
      rows.set(
        granularity,
        batch.map((p) => ({ keyId: p.keyId, tenantId: p.tenantId, environment: p.environment, bucket: bucketOf(p.minuteMs, granularity), counters: p.counters })),
      )
    }
    try {
      await this.store.add(rows)
    } catch (error) {
      // Put the counts back so the next flush retries them instead of losing them.
      for (const p of batch) {
        const slot = `${p.keyId}|${p.minuteMs}`
        const current = this.pending.get(slot)
        if (current) add(current.counters, p.counters)
        else this.pending.set(slot, p)
      }
      throw error
    }
    const minutes = rows.get('minute')!
    for (const listener of this.listeners) await listener(minutes)
  }

  async prune(now = Date.now()): Promise<void> {
    await this.store.prune('minute', new Date(now - this.retention.minutesMs).toISOString())
    await this.store.prune('hour', new Date(now - this.retention.hoursMs).toISOString())
  }
}
