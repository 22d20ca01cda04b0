/**
 * Push notifications, assembled: provider settings and their provider objects, devices, mutes, the
 * log, the fan-out from the outbox, and a worker of the shared delivery queue (kind `push`).
 * `start` begins reading and sending (after the node is ready); `close` stops, letting sends in
 * flight finish for a bounded time and giving the rest back to the queue.
 *
 * A burst (a message to a 1,000-member group) is written to the queue in the fan-out's
 * transaction, off the send path, and sent by the worker with bounded concurrency: in all, and per
 * provider of a tenant environment (the queue's destination), so one tenant's burst or one slow
 * provider holds only its share of the node, and realtime delivery never waits for any of it.
 */
import type { Kysely } from 'kysely'
import type { Registry } from 'prom-client'
import type { Kek } from '../auth/kek.js'
import type { Presence } from '../cluster/presence.js'
import type { ConversationStore } from '../conversations/store.js'
import { AddressGuard } from '../delivery/address-guard.js'
import type { Clock } from '../delivery/clock.js'
import { DeliveryLog } from '../delivery/log.js'
import type { DeliveryMetrics } from '../delivery/metrics.js'
import { DeliveryQueue } from '../delivery/queue.js'
import { DeliveryWorker } from '../delivery/worker.js'
import type { EventBus } from '../events/bus.js'
import { EventConsumers } from '../events/consumers.js'
import type { Dialect } from '../storage/database.js'
import type { Database } from '../storage/schema.js'
import type { UserStore } from '../users/store.js'
import { DeviceStore } from './devices.js'
import { PUSH_SCHEDULE, PushDispatcher, providerOfDestination, statusAfter } from './dispatcher.js'
import { PushFanout } from './fanout.js'
import { PushLog } from './log.js'
import { PushMetrics } from './metrics.js'
import { MuteStore } from './mutes.js'
import { PushPacer } from './pacer.js'
import { ProviderCache, providerFactory } from './providers.js'
import { Recipients } from './recipients.js'
import { PushService } from './service.js'
import { ProviderSettingsStore } from './settings.js'

export interface PushSettings {
  /** PARLEY_WEBHOOK_ALLOW_PRIVATE: Web Push endpoints and FCM token URIs follow the webhook address rules. */
  allowPrivate: boolean
  /** PARLEY_APNS_URL, PARLEY_FCM_URL. */
  apnsUrl: string | null
  fcmUrl: string
  /** PARLEY_PUSH_TIMEOUT_MS: the deadline of one request to a provider. */
  timeoutMs: number
}

export interface PushDeps {
  db: Kysely<Database>
  dialect: Dialect
  kek: Kek
  bus: EventBus
  presence: Presence
  users: UserStore
  conversations: ConversationStore
  deliveryMetrics: DeliveryMetrics
  /** Where the push figures are registered (GET /metrics). */
  registry: Registry
  clock: Clock
  settings: PushSettings
  onError(error: unknown, context: string): void
}

const POLL_MS = 1000
/** Sends in flight on a node, in all and per provider of a tenant environment. */
const CONCURRENCY = 256
const CONCURRENCY_PER_PROVIDER = 128
/** A claim covers two sends (one it waits behind, its own) and this much more, for the outcome to be written. */
const LEASE_MARGIN_MS = 10_000
const CLOSE_GRACE_MS = 5_000
/**
 * Outcomes gather this long before they are written: a burst's answers arrive spread out, and
 * each write is a transaction (on SQLite, holding the connection sends need).
 */
const FLUSH_DELAY_MS = 20
/** How long the push log (and its attempts in the queue) keeps finished notifications. */
const LOG_RETENTION_DAYS = 30

export type Push = ReturnType<typeof createPush>

export function createPush(deps: PushDeps) {
  const { db, dialect, kek, bus, clock, settings, onError } = deps
  const queue = new DeliveryQueue(db, dialect, 'push')
  const deliveryLog = new DeliveryLog(db, 'push')
  const guard = new AddressGuard({ allowPrivate: settings.allowPrivate })
  const providerSettings = new ProviderSettingsStore(db, kek)
  const factory = providerFactory({ apnsUrl: settings.apnsUrl, fcmUrl: settings.fcmUrl, guard, timeoutMs: settings.timeoutMs })
  const providers = new ProviderCache((stored) => providerSettings.unseal(stored), factory, onError)
  const devices = new DeviceStore(db)
  const mutes = new MuteStore(db)
  const log = new PushLog(db)
  const metrics = new PushMetrics(deps.registry)

  const pacer = new PushPacer()
  const dispatcher = new PushDispatcher(log, devices, providerSettings, db, providers, clock, pacer)
  const worker = new DeliveryWorker(
    queue,
    dispatcher,
    clock,
    {
      schedule: PUSH_SCHEDULE,
      concurrency: CONCURRENCY,
      perDestination: CONCURRENCY_PER_PROVIDER,
      leaseMs: 2 * settings.timeoutMs + LEASE_MARGIN_MS,
      pollMs: POLL_MS,
      // Notifications have no order to keep (their rows carry no order key).
      orderWaitMs: 0,
      closeGraceMs: Math.min(CLOSE_GRACE_MS, settings.timeoutMs),
      flushDelayMs: FLUSH_DELAY_MS,
      pace: pacer,
    },
    {
      onError,
      onRecorded: (delivery, outcome, final) => {
        deps.deliveryMetrics.attempted(queue.kind, outcome.status === 'succeeded' ? 'succeeded' : final ? 'failed' : 'retrying')
        const status = statusAfter(outcome, final)
        metrics.counted(providerOfDestination(delivery.destination), status === 'pending' ? 'retrying' : status)
      },
    },
  )
  const recipients = new Recipients({ devices, mutes, presence: deps.presence, providers })
  const fanout = new PushFanout(dialect, new EventConsumers(db), providerSettings, recipients, log, queue, clock, {
    pollMs: POLL_MS,
    onError,
    onQueued: (destinations) => worker.wake(destinations),
    pacer,
    onWritten: (written) => {
      for (const n of written) if (n.status === 'test') metrics.counted(n.provider, 'test')
    },
  })
  deps.deliveryMetrics.track(deliveryLog)

  const service = new PushService({
    settings: providerSettings,
    providers,
    devices,
    mutes,
    log,
    users: deps.users,
    conversations: deps.conversations,
    guard,
    clock,
    onProvidersChanged: () => fanout.providersChanged().catch((error) => onError(error, 'reading push providers')),
  })

  let unsubscribe: (() => void) | null = null
  return {
    service,
    queue,
    worker,
    fanout,
    start(): void {
      unsubscribe = bus.subscribe((event) => {
        // Sends are what goes first (pacer.ts): other writes (users, members) do not hold pushes back.
        if (event.type === 'message.created') pacer.committed()
        fanout.notify(event)
      })
      fanout.start()
      worker.start()
    },
    async close(): Promise<void> {
      unsubscribe?.()
      // First: what waits for its turn goes now, so that stopping does not wait for turns.
      pacer.close()
      await fanout.stop()
      await worker.close()
      await providers.close()
    },
    /** Deletes finished notifications and attempts older than the log's retention. */
    prune: async () => {
      const before = clock.now() - LOG_RETENTION_DAYS * 86_400_000
      await deliveryLog.prune(before)
      await log.prune(before)
    },
  }
}
