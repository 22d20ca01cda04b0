/**
 * From the outbox to the push queue: reads committed events in position order, as the `push`
 * event consumer (registered by migration 011), and for each `message.created` of a tenant
 * environment that has a provider writes its notifications (recipients.ts) to the push log and
 * their first attempts to the shared delivery queue (kind `push`), in one transaction with the
 * consumer's new position. A notification is unique by event and device, so reading an event twice
 * notifies nobody twice. Test-environment notifications are written with their payload and
 * queued nowhere. Other events (edits and deletions included) send nothing.
 *
 * Like the webhook fan-out (webhooks/fanout.ts, which reads the outbox the same way, with
 * events/outbox-reader.ts): it runs when this node publishes a message for a tenant with providers,
 * and every `pollMs` for what other nodes committed; on PostgreSQL nodes take turns (the consumer
 * row is locked); a gap in positions is waited for (GAP_WAIT_MS there) before the position passes it;
 * and while no tenant has any provider, runs of events are passed over unread (the look for
 * providers that decides it comes after the run is read: a provider set later wants only messages
 * committed after it, which the run cannot hold).
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
import type { NewNotification, PushLog } from './log.js'
import type { PushScope } from './model.js'
import type { PushPacer } from './pacer.js'
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
/** How long a read announced by a new message waits for more (a push is not that urgent). */
const GATHER_MS = 10
/** The same while the node is busy with sends (pacer.ts): fewer, larger transactions. */
const GATHER_BUSY_MS = 200

/** The queue's destination of a notification: its provider in its tenant environment (the unit of concurrency). */
export const destinationOf = (scope: PushScope, provider: string): string => `${provider}:${scope.tenantId}:${scope.environment}`

export interface PushFanoutOptions {
  pollMs: number
  onError(error: unknown, context: string): void
  /** Notifications were queued for these destinations: wake the worker. */
  onQueued(destinations: ReadonlySet<string>): void
  /** Notifications were written (test ones are final at once: metrics). */
  onWritten(written: readonly NewNotification[]): void
  /** Sends go first (pacer.ts): whether the node is busy with them, and the turns of push work. */
  pacer: Pick<PushPacer, 'busy' | 'turn' | 'spent'>
}

export class PushFanout {
  /** `tenant environment` pairs with a provider: only their messages need reading at once. */
  private scopes = new Set<string>()
  private readonly reader: OutboxReader<NewNotification[]>
  /** A read announced by a new message, waiting for the ones that follow it. */
  private gathering: NodeJS.Timeout | null = null

  constructor(
    dialect: Dialect,
    consumers: EventConsumers,
    private readonly settings: ProviderSettingsStore,
    private readonly recipients: Recipients,
    log: PushLog,
    queue: DeliveryQueue,
    clock: Clock,
    private readonly options: PushFanoutOptions,
  ) {
    this.reader = new OutboxReader(dialect, consumers, queue, clock, {
      name: CONSUMER,
      idle: async (trx) => !(await settings.anyExist(trx)),
      batches: { read: READ_BATCH, skip: SKIP_BATCH },
      pollMs: options.pollMs,
      handle: async (trx, fresh, now) => {
        const written = await log.insert(trx, await this.notificationsOf(trx, fresh, now), now)
        const deliveries: NewDelivery[] = written
          .filter((n) => n.status === 'pending')
          .map((n) => ({ destination: destinationOf(n.scope, n.provider), eventId: n.id, eventPosition: n.eventPosition, eventType: 'message.created', orderKey: null }))
        await queue.enqueue(trx, deliveries, now)
        return written
      },
      handled: (written) => {
        if (written.length > 0) options.onWritten(written)
        const queued = new Set(written.filter((n) => n.status === 'pending').map((n) => destinationOf(n.scope, n.provider)))
        if (queued.size > 0) options.onQueued(queued)
      },
      onPoll: () => this.refreshScopes().catch((error) => options.onError(error, 'reading push providers')),
      pace: options.pacer,
      onError: options.onError,
      errorContext: 'queuing push notifications',
    })
  }

  start(): void {
    this.reader.start()
  }

  async stop(): Promise<void> {
    if (this.gathering) clearTimeout(this.gathering)
    this.gathering = null
    await this.reader.stop()
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
      this.options.pacer.busy() ? GATHER_BUSY_MS : GATHER_MS,
    )
  }

  /** Providers were set or deleted on this node. */
  async providersChanged(): Promise<void> {
    await this.refreshScopes()
  }

  /** Reads the outbox until it has caught up; concurrent calls fold into the one running. */
  run(): void {
    this.reader.run()
  }

  /** The notifications of the batch's new messages in tenant environments that have providers. */
  private async notificationsOf(trx: Kysely<Database>, events: OutboxEvent[], now: number): Promise<NewNotification[]> {
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
  private async messagesOf(trx: Kysely<Database>, events: OutboxEvent[]): Promise<NewMessage[]> {
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

  private async refreshScopes(): Promise<void> {
    this.scopes = await this.settings.scopes()
  }
}
