/**
 * From the outbox to the delivery queue: reads committed events in position order, as the
 * `webhooks` event consumer (registered by migration 009), and queues one delivery per event and
 * subscribed endpoint of the event's tenant and environment, in one transaction with the
 * consumer's new position. Queuing is idempotent (a unique index), so reading an event twice
 * queues nothing the second time.
 *
 * It runs when this node publishes an event for a tenant that has endpoints (the bus, after the
 * commit), and every `pollMs` for events committed by other nodes. On PostgreSQL nodes take turns
 * (the consumer row is locked, and a node that finds it locked leaves the work to the holder).
 *
 * Gaps: on PostgreSQL a transaction can commit after a later one, so position n+1 may be visible
 * before n. Events past a gap are queued at once, but the position stops before the gap until the
 * gap is filled or has stayed open for GAP_WAIT_MS (its transaction rolled back), so an event that
 * commits late is never skipped.
 */
import type { Kysely } from 'kysely'
import type { Clock } from '../delivery/clock.js'
import type { DeliveryQueue } from '../delivery/queue.js'
import type { NewDelivery } from '../delivery/rows.js'
import type { EventConsumers } from '../events/consumers.js'
import { dataOf } from '../events/content.js'
import type { DomainEvent } from '../events/envelope.js'
import type { Dialect } from '../storage/database.js'
import type { Database } from '../storage/schema.js'
import { subscribes } from './event-types.js'
import type { EndpointStore } from './store.js'

export const CONSUMER = 'webhooks'
// Each batch is one transaction: small enough not to hold SQLite's one connection for long.
const READ_BATCH = 250
// While no endpoint exists, events are passed over unread, this many per transaction.
const SKIP_BATCH = 5_000
const GAP_WAIT_MS = 10_000

interface OutboxRow {
  position: number
  id: string
  tenant_id: string
  environment: string
  type: string
  conversation_id: string | null
}

export interface FanoutOptions {
  pollMs: number
  onError(error: unknown, context: string): void
  /** Deliveries were queued: wake the worker. */
  onQueued(): void
}

export class WebhookFanout {
  /** `tenant:environment` pairs with enabled endpoints: only their events need queuing at once. */
  private scopes = new Set<string>()
  private readonly gapsSeenAt = new Map<number, number>()
  /** Positions past the consumer's position (beyond a gap) already queued by this node. */
  private readonly queued = new Set<number>()
  private current: Promise<void> | null = null
  private again = false
  private stopped = false
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly dialect: Dialect,
    private readonly consumers: EventConsumers,
    private readonly endpoints: EndpointStore,
    private readonly queue: DeliveryQueue,
    private readonly clock: Clock,
    private readonly options: FanoutOptions,
  ) {}

  /** Reads now and every pollMs. (Migration 009 registered the consumer.) */
  start(): void {
    const tick = () => {
      this.refreshScopes().catch((error) => this.options.onError(error, 'reading webhook endpoints'))
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
    if (this.stopped) return
    if (this.current) {
      this.again = true
      return
    }
    this.current = (async () => {
      try {
        do {
          this.again = false
          while (!this.stopped && (await this.step())) {
            // another batch
          }
        } while (this.again && !this.stopped)
      } catch (error) {
        this.options.onError(error, 'queuing webhook deliveries')
      } finally {
        this.current = null
      }
    })()
  }

  /** One batch; true when there may be more to read right away. */
  private async step(): Promise<boolean> {
    const now = this.clock.now()
    const result = await this.queue.transaction(async (trx) => {
      let consumer = trx.selectFrom('event_consumers').select('position').where('name', '=', CONSUMER)
      if (this.dialect === 'postgres') consumer = consumer.forUpdate().skipLocked()
      const row = await consumer.executeTakeFirst()
      // Locked: another node is reading, and will queue what is there.
      if (!row) return null
      const cursor = Number(row.position)
      const skippedTo = await this.passOverWithoutEndpoints(trx, cursor)
      if (skippedTo !== null) {
        await this.consumers.advance(CONSUMER, skippedTo, trx)
        return { cursor, end: skippedTo, fresh: [], deliveries: 0, full: skippedTo - cursor === SKIP_BATCH }
      }
      const events = (await trx
        .selectFrom('events')
        .select(['position', 'id', 'tenant_id', 'environment', 'type', 'conversation_id'])
        .where('position', '>', cursor)
        .orderBy('position')
        .limit(READ_BATCH)
        .execute()) as OutboxRow[]
      if (events.length === 0) return null
      const fresh = events.filter((e) => !this.queued.has(Number(e.position)))
      const deliveries = await this.deliveriesOf(trx, fresh)
      await this.queue.enqueue(trx, deliveries, now)
      const end = this.endBeforeGaps(cursor, events)
      await this.consumers.advance(CONSUMER, end, trx)
      return { cursor, end, fresh, deliveries: deliveries.length, full: events.length === READ_BATCH }
    })
    if (!result) return false
    for (const position of this.queued) if (position <= result.end) this.queued.delete(position)
    for (const position of this.gapsSeenAt.keys()) if (position <= result.end) this.gapsSeenAt.delete(position)
    for (const event of result.fresh) if (Number(event.position) > result.end) this.queued.add(Number(event.position))
    if (result.deliveries > 0) this.options.onQueued()
    return result.full && result.end > result.cursor
  }

  /**
   * With no endpoint at all (the usual state of a node that serves no webhooks) no event needs
   * queuing: the position moves past an unbroken run of events without reading them, which keeps
   * this consumer's cost off the send path. The look for endpoints that decides it comes after the
   * run is read: an endpoint created later wants only events committed after it, which the run
   * cannot hold. (The first look only spares the aggregate when endpoints exist.)
   * Null: read the rows (endpoints exist, or the run has a gap).
   */
  private async passOverWithoutEndpoints(trx: Kysely<Database>, cursor: number): Promise<number | null> {
    if (await this.endpoints.anyExist(trx)) return null
    const end = await this.consumers.contiguousEnd(cursor, SKIP_BATCH, trx)
    if (end === null || (await this.endpoints.anyExist(trx))) return null
    return end
  }

  private async deliveriesOf(trx: Kysely<Database>, events: OutboxRow[]): Promise<NewDelivery[]> {
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
  private async testTargets(trx: Kysely<Database>, events: OutboxRow[]): Promise<Map<number, string>> {
    const positions = events.filter((e) => e.type === 'webhook.test').map((e) => Number(e.position))
    if (positions.length === 0) return new Map()
    const rows = await trx.selectFrom('events').select(['position', 'data', 'content']).where('position', 'in', positions).execute()
    return new Map(rows.map((row) => [Number(row.position), (dataOf(row) as { webhookId: string }).webhookId]))
  }

  /** The position to record: the end of the events read, short of any gap that may still fill. */
  private endBeforeGaps(cursor: number, events: OutboxRow[]): number {
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

  private async refreshScopes(): Promise<void> {
    this.scopes = await this.endpoints.scopesWithEndpoints()
  }
}
