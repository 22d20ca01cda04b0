/**
 * From the outbox to the push queue: reads committed events in position order, as the `push`
 * event consumer (registered by migration 011), and for each `message.created` of a tenant
 * environment that has a provider writes its notifications (recipients.ts) to the push log and
 * their first attempts to the shared delivery queue (kind `push`), in one transaction with the
 * consumer's new position. A notification is unique by event and device, so reading an event twice
 * notifies nobody twice. Test-environment notifications are written with their payload and
 * queued nowhere. Other events (edits and deletions included) send nothing.
 *
 * Like the webhook fan-out (webhooks/fanout.ts, whose reading this mirrors): it runs when this node
 * publishes a message for a tenant with providers, and every `pollMs` for what other nodes
 * committed; on PostgreSQL nodes take turns (the consumer row is locked); a gap in positions is
 * waited for (GAP_WAIT_MS) before the position passes it; and while no tenant has any provider,
 * runs of events are passed over unread.
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
import type { NewNotification, PushLog } from './log.js'
import type { PushScope } from './model.js'
import type { NewMessage, Recipients } from './recipients.js'
import { type ProviderSettingsStore, type StoredProvider, scopeKey } from './settings.js'

export const CONSUMER = 'push'
/**
 * Events per transaction. Each message may fan out to a large group, so batches are smaller than
 * the webhook fan-out's: one transaction must not hold SQLite's one connection for long.
 */
const READ_BATCH = 50
/** While no tenant has a provider, events are passed over unread, this many per transaction. */
const SKIP_BATCH = 5_000
const GAP_WAIT_MS = 10_000
/** How long a read announced by a new message waits for more (a push is not that urgent). */
const GATHER_MS = 10
/** The same while the node is busy with sends (pacer.ts): fewer, larger transactions. */
const GATHER_BUSY_MS = 200

interface OutboxRow {
  position: number
  id: string
  tenant_id: string
  environment: 'live' | 'test'
  type: string
  conversation_id: string | null
}

/** The queue's destination of a notification: its provider in its tenant environment (the unit of concurrency). */
export const destinationOf = (scope: PushScope, provider: string): string => `${provider}:${scope.tenantId}:${scope.environment}`

export interface PushFanoutOptions {
  pollMs: number
  onError(error: unknown, context: string): void
  /** Notifications were queued: wake the worker. */
  onQueued(): void
  /** Notifications were written (test ones are final at once: metrics). */
  onWritten(written: readonly NewNotification[]): void
  /** Whether the node is busy with other work (sends go first: pacer.ts). */
  busy(): boolean
}

export class PushFanout {
  /** `tenant environment` pairs with a provider: only their messages need reading at once. */
  private scopes = new Set<string>()
  private readonly gapsSeenAt = new Map<number, number>()
  /** Positions past the consumer's position (beyond a gap) already read by this node. */
  private readonly queued = new Set<number>()
  private current: Promise<void> | null = null
  private again = false
  private stopped = false
  private timer: NodeJS.Timeout | null = null
  /** A read announced by a new message, waiting for the ones that follow it. */
  private gathering: NodeJS.Timeout | null = null

  constructor(
    private readonly dialect: Dialect,
    private readonly consumers: EventConsumers,
    private readonly settings: ProviderSettingsStore,
    private readonly recipients: Recipients,
    private readonly log: PushLog,
    private readonly queue: DeliveryQueue,
    private readonly clock: Clock,
    private readonly options: PushFanoutOptions,
  ) {}

  start(): void {
    const tick = () => {
      this.refreshScopes().catch((error) => this.options.onError(error, 'reading push providers'))
      this.run()
    }
    this.timer = setInterval(tick, this.options.pollMs)
    this.timer.unref()
    tick()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    if (this.gathering) clearTimeout(this.gathering)
    this.timer = null
    this.gathering = null
    await this.current
  }

  /**
   * An event this node committed (from the bus): a message of a tenant with providers is read
   * within GATHER_MS, with the others committed meanwhile: under a stream of sends one
   * transaction takes many messages, rather than one each (each holds SQLite's one connection).
   */
  notify(event: DomainEvent): void {
    if (event.type !== 'message.created' || !this.scopes.has(scopeKey(event)) || this.gathering) return
    this.gathering = setTimeout(
      () => {
        this.gathering = null
        this.run()
      },
      this.options.busy() ? GATHER_BUSY_MS : GATHER_MS,
    )
  }

  /** Providers were set or deleted on this node. */
  async providersChanged(): Promise<void> {
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
            // Another batch, after what else waits on this turn of the event loop (sends first).
            await new Promise((resolve) => setImmediate(resolve))
          }
        } while (this.again && !this.stopped)
      } catch (error) {
        this.options.onError(error, 'queuing push notifications')
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
      const skippedTo = await this.passOverWithoutProviders(trx, cursor)
      if (skippedTo !== null) {
        await this.consumers.advance(CONSUMER, skippedTo, trx)
        return { cursor, end: skippedTo, fresh: [], written: [], full: skippedTo - cursor === SKIP_BATCH }
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
      const written = await this.log.insert(trx, await this.notificationsOf(trx, fresh, now), now)
      const deliveries: NewDelivery[] = written
        .filter((n) => n.status === 'pending')
        .map((n) => ({ destination: destinationOf(n.scope, n.provider), eventId: n.id, eventPosition: n.eventPosition, eventType: 'message.created', orderKey: null }))
      await this.queue.enqueue(trx, deliveries, now)
      const end = this.endBeforeGaps(cursor, events)
      await this.consumers.advance(CONSUMER, end, trx)
      return { cursor, end, fresh, written, full: events.length === READ_BATCH }
    })
    if (!result) return false
    for (const position of this.queued) if (position <= result.end) this.queued.delete(position)
    for (const position of this.gapsSeenAt.keys()) if (position <= result.end) this.gapsSeenAt.delete(position)
    for (const event of result.fresh) if (Number(event.position) > result.end) this.queued.add(Number(event.position))
    if (result.written.length > 0) this.options.onWritten(result.written)
    if (result.written.some((n) => n.status === 'pending')) this.options.onQueued()
    return result.full && result.end > result.cursor
  }

  /** The notifications of the batch's new messages in tenant environments that have providers. */
  private async notificationsOf(trx: Kysely<Database>, events: OutboxRow[], now: number): Promise<NewNotification[]> {
    const candidates = events.filter((e) => e.type === 'message.created')
    if (candidates.length === 0) return []
    const configured = new Map<string, StoredProvider[]>()
    for (const stored of await this.settings.ofTenants(trx, [...new Set(candidates.map((e) => e.tenant_id))])) {
      const key = scopeKey(stored)
      configured.set(key, [...(configured.get(key) ?? []), stored])
    }
    const wanted = candidates.filter((e) => configured.has(scopeKey({ tenantId: e.tenant_id, environment: e.environment })))
    return this.recipients.ofBatch(trx, await this.messagesOf(trx, wanted), configured, now)
  }

  /**
   * The messages of these events, in position order. An event whose text was forgotten since (the
   * message was edited or deleted before its push was queued) is read from the message as it is
   * now: an edited message is pushed with its new text, a deleted one not at all.
   */
  private async messagesOf(trx: Kysely<Database>, events: OutboxRow[]): Promise<NewMessage[]> {
    if (events.length === 0) return []
    const rows = await trx
      .selectFrom('events')
      .select(['position', 'id', 'tenant_id', 'environment', 'data', 'content'])
      .where('position', 'in', events.map((e) => Number(e.position)))
      .orderBy('position')
      .execute()
    const messages: NewMessage[] = []
    for (const row of rows) {
      const scope = { tenantId: row.tenant_id, environment: row.environment }
      const message = dataOf(row) as { id: string; conversationId: string; seq: number; senderId: string; text: string }
      let text: string | null = message.text
      if (row.content === null) text = await this.currentText(trx, scope, message.id)
      if (text === null) continue
      messages.push({
        scope,
        eventId: row.id,
        eventPosition: Number(row.position),
        conversationId: message.conversationId,
        messageId: message.id,
        seq: message.seq,
        senderId: message.senderId,
        text,
      })
    }
    return messages
  }

  /** The text of a message now; null when it was deleted. */
  private async currentText(trx: Kysely<Database>, scope: PushScope, messageId: string): Promise<string | null> {
    const row = await trx
      .selectFrom('messages')
      .select(['text', 'deleted_at'])
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('id', '=', messageId)
      .executeTakeFirst()
    return row && row.deleted_at === null ? row.text : null
  }

  /**
   * With no provider anywhere no event needs reading: the position moves past an unbroken run of
   * events unread. The look for providers that decides it comes after the run is read: a provider
   * set later wants only messages committed after it, which the run cannot hold.
   */
  private async passOverWithoutProviders(trx: Kysely<Database>, cursor: number): Promise<number | null> {
    if (await this.settings.anyExist(trx)) return null
    const end = await this.consumers.contiguousEnd(cursor, SKIP_BATCH, trx)
    if (end === null || (await this.settings.anyExist(trx))) return null
    return end
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
    this.scopes = await this.settings.scopes()
  }
}
