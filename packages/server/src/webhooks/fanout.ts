/**
 * From the outbox to the delivery queue: reads committed events in position order, as the
 * `webhooks` event consumer (registered by migration 009), and queues one delivery per event and
 * subscribed endpoint of the event's tenant and environment, in one transaction with the
 * consumer's new position. Queuing is idempotent (a unique index), so reading an event twice
 * queues nothing the second time.
 *
 * It runs when this node publishes an event for a tenant that has endpoints (the bus, after the
 * commit), and every `pollMs` for events committed by other nodes. The reading itself (nodes
 * taking turns, gaps, passing over events while no endpoint exists) is events/outbox-reader.ts.
 */
import type { Kysely } from 'kysely'
import type { Clock } from '../delivery/clock.js'
import type { DeliveryQueue } from '../delivery/queue.js'
import type { NewDelivery } from '../delivery/rows.js'
import type { EventConsumers } from '../events/consumers.js'
import { dataOf } from '../events/content.js'
import type { DomainEvent } from '../events/envelope.js'
import { type OutboxEvent, OutboxReader } from '../events/outbox-reader.js'
import type { Dialect } from '../storage/database.js'
import type { Database } from '../storage/schema.js'
import { subscribes } from './event-types.js'
import type { EndpointStore } from './store.js'

export const CONSUMER = 'webhooks'
// Each batch is one transaction: small enough not to hold SQLite's one connection for long.
const READ_BATCH = 250
// While no endpoint exists, events are passed over unread, this many per transaction.
const SKIP_BATCH = 5_000

export interface FanoutOptions {
  pollMs: number
  onError(error: unknown, context: string): void
  /** Deliveries were queued: wake the worker. */
  onQueued(): void
}

export class WebhookFanout {
  /** `tenant:environment` pairs with enabled endpoints: only their events need queuing at once. */
  private scopes = new Set<string>()
  private readonly reader: OutboxReader<number>

  constructor(
    dialect: Dialect,
    consumers: EventConsumers,
    private readonly endpoints: EndpointStore,
    queue: DeliveryQueue,
    clock: Clock,
    private readonly options: FanoutOptions,
  ) {
    this.reader = new OutboxReader(dialect, consumers, queue, clock, {
      name: CONSUMER,
      batches: { read: READ_BATCH, skip: SKIP_BATCH },
      idle: async (trx) => !(await endpoints.anyExist(trx)),
      pollMs: options.pollMs,
      handle: async (trx, fresh, now) => {
        const deliveries = await this.deliveriesOf(trx, fresh)
        await queue.enqueue(trx, deliveries, now)
        return deliveries.length
      },
      handled: (deliveries) => {
        if (deliveries > 0) options.onQueued()
      },
      onPoll: () => this.refreshScopes().catch((error) => options.onError(error, 'reading webhook endpoints')),
      onError: options.onError,
      errorContext: 'queuing webhook deliveries',
    })
  }

  /** Reads now and every pollMs. (Migration 009 registered the consumer.) */
  start(): void {
    this.reader.start()
  }

  /** Stops reading; resolves once a batch under way is written. */
  async stop(): Promise<void> {
    await this.reader.stop()
  }

  /** An event this node committed (from the bus): queued at once if its tenant has endpoints. */
  notify(event: DomainEvent): void {
    if (this.scopes.has(`${event.tenantId}:${event.environment}`)) this.run()
  }

  /** Endpoints were created, enabled or disabled on this node. */
  async endpointsChanged(): Promise<void> {
    await this.refreshScopes()
  }

  /** Reads the outbox until it has caught up; concurrent calls fold into the one running. */
  run(): void {
    this.reader.run()
  }

  private async deliveriesOf(trx: Kysely<Database>, events: OutboxEvent[]): Promise<NewDelivery[]> {
    const tenantIds = [...new Set(events.filter((e) => e.type !== 'webhook.test').map((e) => e.tenant_id))]
    const byScope = new Map<string, { id: string; events: string[] }[]>()
    for (const endpoint of await this.endpoints.enabledOf(trx, tenantIds)) {
      const scope = `${endpoint.tenantId}:${endpoint.environment}`
      byScope.set(scope, [...(byScope.get(scope) ?? []), endpoint])
    }
    const testTargets = await this.testTargets(trx, events)
    const deliveries: NewDelivery[] = []
    for (const event of events) {
      const delivery = { eventId: event.id, eventPosition: Number(event.position), eventType: event.type, orderKey: event.conversation_id }
      const target = testTargets.get(Number(event.position))
      if (target !== undefined) {
        deliveries.push({ ...delivery, destination: target })
        continue
      }
      for (const endpoint of byScope.get(`${event.tenant_id}:${event.environment}`) ?? []) {
        if (subscribes(endpoint.events, event.type)) deliveries.push({ ...delivery, destination: endpoint.id })
      }
    }
    return deliveries
  }

  /** webhook.test events go to the endpoint they name, and nowhere else. */
  private async testTargets(trx: Kysely<Database>, events: OutboxEvent[]): Promise<Map<number, string>> {
    const positions = events.filter((e) => e.type === 'webhook.test').map((e) => Number(e.position))
    if (positions.length === 0) return new Map()
    const rows = await trx.selectFrom('events').select(['position', 'data', 'content']).where('position', 'in', positions).execute()
    return new Map(rows.map((row) => [Number(row.position), (dataOf(row) as { webhookId: string }).webhookId]))
  }

  private async refreshScopes(): Promise<void> {
    this.scopes = await this.endpoints.scopesWithEndpoints()
  }
}
