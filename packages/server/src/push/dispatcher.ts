/**
 * What is particular to push in the shared delivery queue (delivery/worker.ts): each queued row is
 * one notification (its `event_id` is the psh_ id); an attempt sends it with the provider of its
 * tenant environment, and the answer decides what happens next (API.md §10):
 *
 * - sent: the notification is `sent`, and the device counts as used now;
 * - gone (APNs 410 Unregistered / 400 BadDeviceToken, FCM 404 UNREGISTERED / 400 INVALID_ARGUMENT
 *   about the token, Web Push 404 / 410): the device is deleted at once, the notification is
 *   `pruned` with the provider's reason;
 * - retry (429, 5xx, no answer): attempted again, at most 3 attempts within 10 minutes of the
 *   message, never before the provider's Retry-After; then `failed`;
 * - failed (any other refusal): `failed` at once.
 */
import type { Kysely } from 'kysely'
import type { Clock } from '../delivery/clock.js'
import type { Delivery } from '../delivery/rows.js'
import type { RetrySchedule } from '../delivery/schedule.js'
import type { Attempt, AttemptOutcome, DeliveryHandler, RecordedOutcome } from '../delivery/handler.js'
import type { Pace } from '../lib/pace.js'
import type { Database } from '../storage/schema.js'
import type { DeviceStore } from './devices.js'
import type { NotificationUpdate, PushLog } from './log.js'
import { type Device, type Notification, targetOf } from './model.js'
import type { ProviderCache } from './providers.js'
import type { ProviderType, PushProvider, PushResult } from './provider.js'
import { type ProviderSettingsStore, type StoredProvider, scopeKey } from './settings.js'

/** Every attempt of a notification falls within this long after it was queued (API.md §10). */
export const RETRY_WINDOW_MS = 10 * 60_000

/** Two retries (3 attempts), jittered; a Retry-After may push one as far as the window allows. */
export const PUSH_SCHEDULE: RetrySchedule = {
  delaysMs: [10_000, 60_000],
  jitter: 0.1,
  maxRetryAfterMs: RETRY_WINDOW_MS,
}

/** An outcome that carries what the provider said, for `recorded`. */
interface PushAttemptOutcome extends AttemptOutcome {
  push?: { result: PushResult; deviceId: string }
}

/** The push log status an attempt leaves its notification in. */
export function statusAfter(outcome: AttemptOutcome, final: boolean): NotificationUpdate['status'] {
  if (outcome.status === 'succeeded') return 'sent'
  if ((outcome as PushAttemptOutcome).push?.result.outcome === 'gone') return 'pruned'
  return final ? 'failed' : 'pending'
}

/** The provider a queue destination (`<type>:<tenant>:<environment>`, fanout.ts) stands for. */
export const providerOfDestination = (destination: string): ProviderType => destination.slice(0, destination.indexOf(':')) as ProviderType

export class PushDispatcher implements DeliveryHandler {
  constructor(
    private readonly log: PushLog,
    private readonly devices: DeviceStore,
    private readonly settings: ProviderSettingsStore,
    private readonly db: Kysely<Database>,
    private readonly providers: ProviderCache,
    private readonly clock: Clock,
    /** Sends first (pacer.ts). */
    private readonly pace: Pace,
  ) {}

  async prepare(batch: readonly Delivery[]): Promise<Map<string, Attempt>> {
    const notifications = await this.log.byIds(batch.map((d) => d.eventId))
    const devices = await this.devices.byIds([...new Set([...notifications.values()].map((n) => n.deviceId))])
    const stored = await this.providersOf([...notifications.values()])
    const attempts = new Map<string, Attempt>()
    for (const delivery of batch) {
      const notification = notifications.get(delivery.eventId)
      const device = notification && devices.get(notification.deviceId)
      const settings = notification && stored.get(`${scopeKey(notification)} ${notification.provider}`)
      const refusal = !notification?.message
        ? 'not sent: the notification is no longer stored (its user was deleted)'
        : !device || device.userId !== notification.userId
          ? 'not sent: the device was removed'
          : !settings
            ? `not sent: no ${notification.provider} provider is configured any more`
            : null
      if (refusal !== null) {
        attempts.set(delivery.id, async () => notAttempted(refusal))
        continue
      }
      let provider: PushProvider
      try {
        provider = this.providers.get(settings!)
      } catch {
        attempts.set(delivery.id, async () => notAttempted(`not sent: the stored ${notification!.provider} settings could not be read`))
        continue
      }
      attempts.set(delivery.id, (signal) => this.attempt(provider, device!, notification!, delivery, signal))
    }
    return attempts
  }

  async recorded(trx: Kysely<Database>, delivery: Delivery, outcome: AttemptOutcome, final: boolean, now: number): Promise<void> {
    await this.recordedAll(trx, [{ delivery, outcome, final }], now)
  }

  /** The outcomes of one write: the log rows in one statement, the devices used in another. */
  async recordedAll(trx: Kysely<Database>, outcomes: readonly RecordedOutcome[], now: number): Promise<void> {
    if (outcomes.length === 0) return
    const updates = []
    const used: string[] = []
    for (const { delivery, outcome, final } of outcomes) {
      const status = statusAfter(outcome, final)
      updates.push({ id: delivery.eventId, update: { status, attempt: delivery.attempt, responseStatus: outcome.responseStatus, reason: outcome.error } })
      const push = (outcome as PushAttemptOutcome).push
      if (!push) continue
      if (status === 'pruned') await this.devices.prune(trx, push.deviceId)
      if (status === 'sent') used.push(push.deviceId)
    }
    await this.log.updateMany(trx, updates, now)
    if (used.length > 0) await this.devices.touch(trx, [...new Set(used)], new Date(now).toISOString())
  }

  private async attempt(provider: PushProvider, device: Device, notification: Notification, delivery: Delivery, signal: AbortSignal): Promise<PushAttemptOutcome> {
    // While the node is busy with sends, they go first (pacer.ts).
    await this.pace.turn(signal)
    if (signal.aborted) return notAttempted('not sent: the node stopped')
    const started = performance.now()
    const sending = provider.send(targetOf(device), notification.message!, signal)
    // What the request costs the event loop: building and writing it (its answer is read as it comes).
    this.pace.spent(performance.now() - started)
    const result = await sending
    const durationMs = Math.round(performance.now() - started)
    const base = { responseStatus: result.responseStatus, durationMs, responseBody: null, retryAfterMs: result.retryAfterMs, push: { result, deviceId: device.id } }
    const reason = result.reason ?? (result.responseStatus === null ? 'no answer' : `HTTP ${result.responseStatus}`)
    switch (result.outcome) {
      case 'sent':
        return { ...base, status: 'succeeded', retry: false, error: null }
      case 'gone':
        return { ...base, status: 'failed', retry: false, error: `${reason}: the device is gone and was deleted` }
      case 'failed':
        return { ...base, status: 'failed', retry: false, error: reason }
      case 'retry': {
        const last = delivery.attempt >= PUSH_SCHEDULE.delaysMs.length + 1
        const deadline = Date.parse(notification.createdAt) + RETRY_WINDOW_MS
        const earliest = this.clock.now() + Math.max(result.retryAfterMs ?? 0, PUSH_SCHEDULE.delaysMs[delivery.attempt - 1] ?? 0)
        if (last) return { ...base, status: 'failed', retry: false, error: `${reason} (gave up after ${delivery.attempt} attempts)` }
        if (earliest > deadline) return { ...base, status: 'failed', retry: false, error: `${reason} (gave up: the next attempt would fall past 10 minutes)` }
        return { ...base, status: 'failed', retry: true, error: reason }
      }
    }
  }

  /** The stored providers of these notifications' tenant environments, by `tenant environment type`. */
  private async providersOf(notifications: Notification[]): Promise<Map<string, StoredProvider>> {
    const tenants = [...new Set(notifications.map((n) => n.tenantId))]
    const stored = await this.settings.ofTenants(this.db, tenants)
    return new Map(stored.map((s) => [`${scopeKey(s)} ${s.type}`, s]))
  }
}

function notAttempted(error: string): AttemptOutcome {
  return { status: 'failed', retry: false, retryAfterMs: null, responseStatus: null, durationMs: null, responseBody: null, error }
}
