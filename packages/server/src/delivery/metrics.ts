/**
 * Delivery figures on GET /metrics, one set for every queue consumer (label `kind`): attempts by
 * result, the queue's depth, and how long its most overdue attempt has been due (a worker that
 * keeps up holds this near zero; a growing figure means attempts wait for a free slot).
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Clock } from './clock.js'
import type { DeliveryLog } from './log.js'

export type AttemptResult = 'succeeded' | 'retrying' | 'failed'

export class DeliveryMetrics {
  private readonly logs: DeliveryLog[] = []
  private readonly attempts: Counter<'kind' | 'result'>

  constructor(registry: Registry, clock: Clock) {
    this.attempts = new Counter({
      name: 'parley_delivery_attempts_total',
      help: 'Delivery attempts by consumer and result (retrying: failed, another attempt is scheduled; failed: given up)',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    })
    const logs = this.logs
    // Read at scrape time: a query per consumer, never on the delivery path.
    const statsOf = async () => Promise.all(logs.map(async (log) => ({ kind: log.kind, ...(await log.stats(clock.now())) })))
    new Gauge({
      name: 'parley_delivery_queue_depth',
      help: 'Attempts pending (due or scheduled) by consumer',
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        for (const { kind, pending } of await statsOf()) this.set({ kind }, pending)
      },
    })
    new Gauge({
      name: 'parley_delivery_oldest_due_seconds',
      help: 'How long the most overdue pending attempt has been due, by consumer',
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        for (const { kind, oldestDueMs } of await statsOf()) this.set({ kind }, oldestDueMs / 1000)
      },
    })
  }

  track(log: DeliveryLog): void {
    this.logs.push(log)
    for (const result of ['succeeded', 'retrying', 'failed'] as const) this.attempts.inc({ kind: log.kind, result }, 0)
  }

  attempted(kind: string, result: AttemptResult): void {
    this.attempts.inc({ kind, result })
  }
}
