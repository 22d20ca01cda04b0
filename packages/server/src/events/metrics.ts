/**
 * The outbox's figure on GET /metrics: how far each event consumer (webhook, push) is behind it.
 * While a node is busy with sends, push reads the outbox at a share of the node's time
 * (push/pacer.ts), so its notifications wait here, before any queue: this is where that lag shows.
 * Read from storage at scrape time, for the whole cluster.
 */
import { Gauge, type Registry } from 'prom-client'
import type { EventConsumers } from './consumers.js'

export function registerConsumerLag(registry: Registry, consumers: EventConsumers): void {
  new Gauge({
    name: 'parley_event_consumer_lag',
    help: 'Events committed that an event consumer (webhooks, push) has not read yet',
    labelNames: ['consumer'] as const,
    registers: [registry],
    async collect() {
      for (const [consumer, behind] of await consumers.lags()) this.set({ consumer }, behind)
    },
  })
}
