/** Usage figures per key and per tenant environment (API.md §3). */
import type { SecretCaller } from '../core/caller.js'
import type { LastUsedTracker } from '../keys/last-used.js'
import { invalidParam, notFound } from '../core/errors.js'
import type { KeyStore } from '../keys/store.js'
import { type Counters, add, bucketOf, emptyCounters } from './counters.js'
import type { UsageRecorder } from './recorder.js'
import type { UsageStore } from './store.js'

export interface UsageQuery {
  granularity?: 'hour' | 'day'
  from?: string
  to?: string
}

const DEFAULT_SPAN_MS = { hour: 24 * 3600_000, day: 30 * 86_400_000 }

export class UsageService {
  constructor(
    private readonly store: UsageStore,
    private readonly recorder: UsageRecorder,
    private readonly keys: KeyStore,
    private readonly lastUsed: LastUsedTracker,
  ) {}

  async forKey(caller: SecretCaller, keyId: string, query: UsageQuery) {
    const key = await this.keys.find(caller.tenant.id, caller.environment, keyId)
    if (!key) throw notFound('Key')
    const { granularity, from, to } = window(query)
    await this.recorder.flush() // everything this node counted so far is in the answer
    const { points } = await this.store.series(granularity, { tenantId: caller.tenant.id, environment: caller.environment, keyId }, from, to)
    return { granularity, from, to, series: points.map(point), totals: view(sum(points)), lastUsedAt: this.lastUsed.lastUsed(key.id, key.lastUsedAt) }
  }

  async forTenant(caller: SecretCaller, query: UsageQuery) {
    const { granularity, from, to } = window(query)
    await this.recorder.flush()
    const { points, perKey } = await this.store.series(granularity, { tenantId: caller.tenant.id, environment: caller.environment }, from, to)
    const keys = [...perKey].map(([keyId, c]) => {
      const { avgLatencyMs: _avg, ...counts } = view(c)
      return { keyId, ...counts }
    })
    return { granularity, from, to, series: points.map(point), totals: view(sum(points)), keys }
  }
}

/** The requested window, aligned to bucket starts so the first bucket is included whole. */
function window(query: UsageQuery): { granularity: 'hour' | 'day'; from: string; to: string } {
  const granularity = query.granularity ?? 'hour'
  const toMs = query.to ? Date.parse(query.to) : Date.now()
  const fromMs = query.from ? Date.parse(query.from) : toMs - DEFAULT_SPAN_MS[granularity]
  if (fromMs > toMs) throw invalidParam('from', 'must not be after to')
  // `to` is exclusive; a bucket starting at or before it is included.
  return { granularity, from: bucketOf(fromMs, granularity), to: new Date(toMs + 1).toISOString() }
}

function sum(points: Counters[]): Counters {
  const total = emptyCounters()
  for (const p of points) add(total, p)
  return total
}

function point(p: Counters & { t: string }) {
  return { t: p.t, ...view(p) }
}

function view(c: Counters) {
  return {
    requests: c.requests,
    success: c.success,
    clientErrors: c.clientErrors,
    serverErrors: c.serverErrors,
    rateLimited: c.rateLimited,
    avgLatencyMs: c.requests ? Math.round((c.latencyMs / c.requests) * 100) / 100 : 0,
  }
}
