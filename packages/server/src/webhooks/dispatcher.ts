/**
 * What is particular to webhooks in the delivery queue (delivery/worker.ts): the payload, the
 * Standard Webhooks signature, what an answer means, and the endpoint's state.
 *
 * - Body `{ type, id, timestamp, tenantId, environment, data }`, built from the stored event at the
 *   attempt (content forgotten since, API.md §12, stays forgotten); the bytes signed are the bytes sent.
 * - `webhook-id` is the event id on every attempt; `webhook-timestamp` is the attempt's.
 * - 2xx within the timeout succeeds. 410 disables the endpoint (`gone`). Anything else, a redirect
 *   included (never followed), no answer or a refused address is retried on the schedule.
 * - An endpoint whose every attempt has failed for 5 days is disabled (`failing`).
 */
import type { Kysely } from 'kysely'
import type { Clock } from '../delivery/clock.js'
import type { HttpPoster, PostResult } from '../delivery/http-post.js'
import type { DeliveryLog } from '../delivery/log.js'
import type { Delivery } from '../delivery/rows.js'
import { type RetrySchedule, retryAfterMs } from '../delivery/schedule.js'
import type { Attempt, AttemptOutcome, DeliveryHandler } from '../delivery/handler.js'
import { dataOf } from '../events/content.js'
import type { Database } from '../storage/schema.js'
import type { Endpoint } from './model.js'
import type { SecretBox } from './secrets.js'
import { signatureHeader } from './signing.js'
import type { EndpointStore } from './store.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** API.md §7: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, jittered; then the delivery has failed. */
export const WEBHOOK_SCHEDULE: RetrySchedule = {
  delaysMs: [5000, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR],
  jitter: 0.1,
  maxRetryAfterMs: 10 * HOUR,
}

/** How long every attempt must have failed before the endpoint is disabled. */
export const FAILING_FOR_MS = 5 * 24 * HOUR

export class WebhookDispatcher implements DeliveryHandler {
  /**
   * Endpoints with a failure streak, as of their latest read or this node's latest outcome: a
   * success clears the streak in storage only for these, so the usual success costs no write.
   */
  private readonly failing = new Set<string>()

  constructor(
    private readonly db: Kysely<Database>,
    private readonly endpoints: EndpointStore,
    private readonly log: DeliveryLog,
    private readonly secrets: SecretBox,
    private readonly poster: HttpPoster,
    private readonly clock: Clock,
    /** An endpoint was disabled by a delivery's answer. */
    private readonly onDisabled: () => void,
  ) {}

  async prepare(batch: readonly Delivery[]): Promise<Map<string, Attempt>> {
    const endpoints = await this.endpoints.byIds([...new Set(batch.map((d) => d.destination))])
    for (const endpoint of endpoints.values()) {
      if (endpoint.failingSince) this.failing.add(endpoint.id)
      else this.failing.delete(endpoint.id)
    }
    const bodies = await this.bodies([...new Set(batch.map((d) => d.eventPosition))])
    const attempts = new Map<string, Attempt>()
    for (const delivery of batch) {
      const endpoint = endpoints.get(delivery.destination)
      const body = bodies.get(delivery.eventPosition)
      const refusal = !endpoint ? 'not attempted: the endpoint was deleted' : !endpoint.enabled ? 'not attempted: the endpoint is disabled' : !body ? 'not attempted: the event is no longer stored' : null
      if (refusal !== null) {
        attempts.set(delivery.id, async () => notAttempted(refusal))
      } else {
        attempts.set(delivery.id, (signal) => this.attempt(endpoint!, delivery.eventId, body!, signal))
      }
    }
    return attempts
  }

  async recorded(trx: Kysely<Database>, delivery: Delivery, outcome: AttemptOutcome, _final: boolean, now: number): Promise<void> {
    // No request was made (no duration): the endpoint's record is not the receiver's doing.
    if (outcome.durationMs === null) return
    const at = new Date(now).toISOString()
    if (outcome.status === 'succeeded') {
      if (this.failing.delete(delivery.destination)) await this.endpoints.succeeded(trx, delivery.destination)
      return
    }
    if (outcome.responseStatus === 410) return this.disable(trx, delivery.destination, 'gone', at, now)
    this.failing.add(delivery.destination)
    if (!(await this.endpoints.failed(trx, delivery.destination, at))) {
      // Disabled while this attempt was in flight: its retry waits for nobody (recover queues it again).
      return this.log.failPending(trx, delivery.destination, 'not attempted: the endpoint is disabled', now)
    }
    await this.disable(trx, delivery.destination, 'failing', at, now, new Date(now - FAILING_FOR_MS).toISOString())
  }

  private async attempt(endpoint: Endpoint, eventId: string, body: Buffer, signal: AbortSignal): Promise<AttemptOutcome> {
    const timestamp = Math.floor(this.clock.now() / 1000)
    const headers = {
      'content-type': 'application/json',
      'webhook-id': eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(this.secrets.signingKeys(endpoint, this.clock.now()), eventId, timestamp, body),
    }
    return outcomeOf(await this.poster.post(new URL(endpoint.url), body, headers, signal), this.clock.now())
  }

  private async disable(trx: Kysely<Database>, id: string, reason: 'gone' | 'failing', at: string, now: number, failingBefore?: string): Promise<void> {
    if (!(await this.endpoints.disable(trx, id, reason, at, failingBefore))) return
    await this.log.failPending(trx, id, `not attempted: the endpoint was disabled (${reason})`, now)
    this.onDisabled()
  }

  /** The bytes each event is sent as, by outbox position; events no longer stored are missing. */
  private async bodies(positions: number[]): Promise<Map<number, Buffer>> {
    const rows = await this.db
      .selectFrom('events')
      .select(['position', 'id', 'type', 'tenant_id', 'environment', 'created_at', 'data', 'content'])
      .where('position', 'in', positions)
      .execute()
    return new Map(
      rows.map((row) => {
        const body = { type: row.type, id: row.id, timestamp: row.created_at, tenantId: row.tenant_id, environment: row.environment, data: dataOf(row) }
        return [Number(row.position), Buffer.from(JSON.stringify(body))]
      }),
    )
  }
}

function notAttempted(error: string): AttemptOutcome {
  return { status: 'failed', retry: false, retryAfterMs: null, responseStatus: null, durationMs: null, responseBody: null, error }
}

/** What an answer means for a webhook. */
export function outcomeOf(result: PostResult, now: number): AttemptOutcome {
  const { status } = result
  const base = { responseStatus: status, durationMs: result.durationMs, responseBody: result.body, retryAfterMs: retryAfterMs(result.retryAfter, now) }
  if (status === null) return { ...base, status: 'failed', retry: true, error: result.error }
  if (status >= 200 && status < 300) return { ...base, status: 'succeeded', retry: false, error: null }
  if (status === 410) return { ...base, status: 'failed', retry: false, error: 'HTTP 410: the endpoint is gone and was disabled' }
  if (status >= 300 && status < 400) return { ...base, status: 'failed', retry: true, error: `HTTP ${status}: redirects are not followed` }
  return { ...base, status: 'failed', retry: true, error: `HTTP ${status}` }
}
