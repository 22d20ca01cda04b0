/**
 * Push figures on GET /metrics: notifications by provider and by the status they reached (sent,
 * failed, pruned, test; `retrying` for an attempt that failed and will be made again). The queue's
 * depth is the shared delivery gauge (`parley_delivery_queue_depth{kind="push"}`, delivery/metrics.ts).
 */
import { Counter, type Registry } from 'prom-client'
import { PROVIDER_TYPES, type ProviderType } from './provider.js'

export type PushMetricStatus = 'sent' | 'failed' | 'pruned' | 'test' | 'retrying'

const STATUSES: readonly PushMetricStatus[] = ['sent', 'failed', 'pruned', 'test', 'retrying']

export class PushMetrics {
  private readonly pushes: Counter<'provider' | 'status'>

  constructor(registry: Registry) {
    this.pushes = new Counter({
      name: 'parley_push_notifications_total',
      help: 'Push notifications by provider and status (retrying: an attempt failed, another is scheduled)',
      labelNames: ['provider', 'status'] as const,
      registers: [registry],
    })
    // Every series exists from the start, so a rate over a fresh node reads 0 rather than nothing.
    for (const provider of PROVIDER_TYPES) for (const status of STATUSES) this.pushes.inc({ provider, status }, 0)
  }

  counted(provider: ProviderType, status: PushMetricStatus, count = 1): void {
    this.pushes.inc({ provider, status }, count)
  }
}
