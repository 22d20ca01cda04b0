/**
 * Webhooks, assembled: endpoints and their service, the fan-out from the outbox to the delivery
 * queue, and the worker that makes the attempts. `start` begins reading and delivering (after the
 * node is ready); `close` stops, letting attempts in flight finish for a bounded time.
 */
import type { Kysely } from 'kysely'
import type { Kek } from '../auth/kek.js'
import { AddressGuard } from '../delivery/address-guard.js'
import type { Clock } from '../delivery/clock.js'
import { HttpPoster } from '../delivery/http-post.js'
import type { DeliveryMetrics } from '../delivery/metrics.js'
import { DeliveryLog } from '../delivery/log.js'
import { DeliveryQueue } from '../delivery/queue.js'
import { DeliveryWorker } from '../delivery/worker.js'
import type { EventBus } from '../events/bus.js'
import { EventConsumers } from '../events/consumers.js'
import { Outbox } from '../events/outbox.js'
import type { Dialect } from '../storage/database.js'
import type { Database } from '../storage/schema.js'
import { WEBHOOK_SCHEDULE, WebhookDispatcher } from './dispatcher.js'
import { WebhookFanout } from './fanout.js'
import { SecretBox } from './secrets.js'
import { WebhookService } from './service.js'
import { EndpointStore } from './store.js'

export interface WebhookSettings {
  /** PARLEY_WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean
  /** The deadline of one attempt (API.md §7: 15 s). */
  timeoutMs: number
  /** Attempts in flight on a node, in all and per endpoint. */
  concurrency: number
  concurrencyPerEndpoint: number
  /** How long the delivery log keeps finished attempts. */
  logRetentionDays: number
}

export interface WebhookDeps {
  db: Kysely<Database>
  dialect: Dialect
  kek: Kek
  bus: EventBus
  metrics: DeliveryMetrics
  clock: Clock
  settings: WebhookSettings
  onError(error: unknown, context: string): void
}

const POLL_MS = 1000
/** A claim covers two attempts (one it waits behind, its own) and this much more, for the outcome to be written. */
const LEASE_MARGIN_MS = 10_000
const ORDER_WAIT_MS = 60_000
const CLOSE_GRACE_MS = 10_000

export type Webhooks = ReturnType<typeof createWebhooks>

export function createWebhooks({ db, dialect, kek, bus, metrics, clock, settings, onError }: WebhookDeps) {
  const queue = new DeliveryQueue(db, dialect, 'webhook')
  const log = new DeliveryLog(db, 'webhook')
  const store = new EndpointStore(db)
  const guard = new AddressGuard({ allowPrivate: settings.allowPrivate })
  const poster = new HttpPoster(guard, settings.timeoutMs, 'Parley-Webhooks/1.0')
  const secrets = new SecretBox(kek)
  const refreshEndpoints = () => fanout.endpointsChanged().catch((error) => onError(error, 'reading webhook endpoints'))

  const dispatcher = new WebhookDispatcher(db, store, log, secrets, poster, clock, () => void refreshEndpoints())
  const worker = new DeliveryWorker(
    queue,
    dispatcher,
    clock,
    {
      schedule: WEBHOOK_SCHEDULE,
      concurrency: settings.concurrency,
      perDestination: settings.concurrencyPerEndpoint,
      leaseMs: 2 * settings.timeoutMs + LEASE_MARGIN_MS,
      pollMs: POLL_MS,
      orderWaitMs: ORDER_WAIT_MS,
      closeGraceMs: Math.min(CLOSE_GRACE_MS, settings.timeoutMs),
    },
    {
      onError,
      onRecorded: (_delivery, outcome, final) => metrics.attempted(queue.kind, outcome.status === 'succeeded' ? 'succeeded' : final ? 'failed' : 'retrying'),
    },
  )
  const fanout = new WebhookFanout(dialect, new EventConsumers(db), store, queue, clock, { pollMs: POLL_MS, onError, onQueued: () => worker.wake() })
  metrics.track(log)

  const service = new WebhookService({
    db,
    store,
    log,
    guard,
    secrets,
    outbox: new Outbox(db),
    clock,
    onEndpointsChanged: refreshEndpoints,
    onEventWritten: () => fanout.run(),
    onDue: () => worker.wake(),
  })

  let unsubscribe: (() => void) | null = null
  return {
    service,
    queue,
    worker,
    fanout,
    start(): void {
      unsubscribe = bus.subscribe((event) => fanout.notify(event))
      fanout.start()
      worker.start()
    },
    async close(): Promise<void> {
      unsubscribe?.()
      await fanout.stop()
      await worker.close()
      poster.close()
    },
    /** Deletes finished attempts older than the log's retention. */
    prune: () => log.prune(clock.now() - settings.logRetentionDays * 86_400_000),
  }
}
