/** Webhook endpoints and their delivery log (API.md §7, §9), for a tenant's secret key. */
import type { Kysely } from 'kysely'
import type { SecretCaller } from '../core/caller.js'
import { ApiError, invalidParam, notFound } from '../core/errors.js'
import { newId } from '../core/ids.js'
import type { AddressGuard } from '../delivery/address-guard.js'
import { type Clock, isoAt } from '../delivery/clock.js'
import type { DeliveryLog } from '../delivery/log.js'
import type { Delivery, DeliveryStatus } from '../delivery/rows.js'
import { type Outbox, domainEvent } from '../events/outbox.js'
import { decodeCursor, encodeCursor, pageOf } from '../lib/cursor.js'
import { parseTimestamp } from '../lib/time.js'
import type { Database } from '../storage/schema.js'
import { EVENT_TYPES, isEventType } from './event-types.js'
import { type Endpoint, endpointView } from './model.js'
import type { SecretBox } from './secrets.js'
import { generateSecret } from './signing.js'
import type { EndpointChanges, EndpointStore } from './store.js'

/** Endpoints per tenant environment: each is a request per event, so a tenant cannot multiply its events without bound. */
export const MAX_ENDPOINTS = 20
/** How far back `recover` reaches (API.md §7). */
const RECOVER_WINDOW_MS = 14 * 86_400_000
export const DEFAULT_OVERLAP_SECONDS = 86_400

export interface EndpointInput {
  url: string
  events: string[]
  description?: string | null
}

export type EndpointPatch = Partial<EndpointInput> & { enabled?: boolean }

export interface WebhookServiceDeps {
  db: Kysely<Database>
  store: EndpointStore
  log: DeliveryLog
  guard: AddressGuard
  secrets: SecretBox
  outbox: Outbox
  clock: Clock
  /** Endpoints changed: the fan-out re-reads which tenants have endpoints (before the change is answered). */
  onEndpointsChanged(): Promise<void>
  /** An event was written for webhooks alone (a test): read the outbox now. */
  onEventWritten(): void
  /** Attempts were made due now (retry, recover). */
  onDue(): void
}

export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  eventTypes() {
    return { data: EVENT_TYPES }
  }

  async create(caller: SecretCaller, input: EndpointInput) {
    const { store, secrets, clock } = this.deps
    await this.checkUrl(input.url)
    const events = checkEvents(input.events)
    if ((await store.count(caller.tenant.id, caller.environment)) >= MAX_ENDPOINTS) {
      throw new ApiError('plan_limit_reached', `At most ${MAX_ENDPOINTS} webhook endpoints per environment`)
    }
    const id = newId('webhook')
    const secret = generateSecret()
    const now = isoAt(clock.now())
    const endpoint: Endpoint = {
      id,
      tenantId: caller.tenant.id,
      environment: caller.environment,
      url: input.url,
      description: input.description ?? null,
      events,
      enabled: true,
      disabledReason: null,
      failingSince: null,
      secret: secrets.seal(id, secret),
      previousSecret: null,
      previousSecretUntil: null,
      createdAt: now,
      updatedAt: now,
    }
    await store.insert(endpoint)
    await this.deps.onEndpointsChanged()
    return { ...endpointView(endpoint), secret }
  }

  async list(caller: SecretCaller, limit: number, cursor: string | undefined) {
    const after = decodeCursor(cursor, 2) as [string, string] | null
    const rows = await this.deps.store.list(caller.tenant.id, caller.environment, limit + 1, after)
    const page = pageOf(rows, limit, (e) => [e.createdAt, e.id])
    return { data: page.data.map(endpointView), nextCursor: page.nextCursor }
  }

  async get(caller: SecretCaller, id: string) {
    return endpointView(await this.find(caller, id))
  }

  async patch(caller: SecretCaller, id: string, input: EndpointPatch) {
    const { store, log, db, clock } = this.deps
    const endpoint = await this.find(caller, id)
    if (input.url !== undefined) await this.checkUrl(input.url)
    const changes: EndpointChanges = {}
    if (input.url !== undefined) changes.url = input.url
    if (input.events !== undefined) changes.events = checkEvents(input.events)
    if (input.description !== undefined) changes.description = input.description
    if (input.enabled !== undefined) changes.enabled = input.enabled
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      await store.update(id, changes, isoAt(now), trx)
      // What waits for a disabled endpoint fails now; `recover` queues it again once it is back.
      if (input.enabled === false && endpoint.enabled) await log.failPending(trx, id, 'not attempted: the endpoint was disabled', now)
    })
    await this.deps.onEndpointsChanged()
    return this.get(caller, id)
  }

  async delete(caller: SecretCaller, id: string): Promise<void> {
    const { store, log, db } = this.deps
    await this.find(caller, id)
    await db.transaction().execute(async (trx) => {
      await log.deleteDestination(trx, id)
      await store.delete(trx, id)
    })
    await this.deps.onEndpointsChanged()
  }

  /** Sends a `webhook.test` event to this endpoint alone (202: it is queued, not yet delivered). */
  async test(caller: SecretCaller, id: string) {
    const endpoint = await this.enabled(caller, id)
    const event = domainEvent('webhook.test', { tenantId: endpoint.tenantId, environment: endpoint.environment }, null, {
      webhookId: endpoint.id,
      message: 'A test event sent from the Parley API.',
    })
    // Written to the outbox for the fan-out, not published on the bus: sockets have no use for it.
    await this.deps.db.transaction().execute((trx) => this.deps.outbox.append(trx, [event]))
    this.deps.onEventWritten()
    return { eventId: event.id }
  }

  /** A new secret; the old one keeps signing (a second signature) for `overlapSeconds`. */
  async rotateSecret(caller: SecretCaller, id: string, overlapSeconds = DEFAULT_OVERLAP_SECONDS) {
    const { store, secrets, clock } = this.deps
    const endpoint = await this.find(caller, id)
    const secret = generateSecret()
    const now = clock.now()
    await store.update(
      id,
      {
        secret: secrets.seal(id, secret),
        previousSecret: overlapSeconds > 0 ? endpoint.secret : null,
        previousSecretUntil: overlapSeconds > 0 ? isoAt(now + overlapSeconds * 1000) : null,
      },
      isoAt(now),
    )
    return { ...(await this.get(caller, id)), secret }
  }

  /** Queues again every event that failed since `since` and never succeeded (same event ids). */
  async recover(caller: SecretCaller, id: string, since: string) {
    const now = this.deps.clock.now()
    const from = parseTimestamp(since)!
    if (from < now - RECOVER_WINDOW_MS) throw invalidParam('since', 'must be at most 14 days ago')
    await this.enabled(caller, id)
    const count = await this.deps.log.recover(id, from, now)
    if (count > 0) this.deps.onDue()
    return { count }
  }

  async deliveries(caller: SecretCaller, id: string, query: { limit: number; cursor?: string; status?: DeliveryStatus; eventId?: string }) {
    await this.find(caller, id)
    const before = decodeCursor(query.cursor, 1)?.[0] as string | undefined
    const rows = await this.deps.log.list(id, query.limit + 1, before ?? null, { status: query.status, eventId: query.eventId })
    const hasMore = rows.length > query.limit
    const data = hasMore ? rows.slice(0, query.limit) : rows
    return { data: data.map(deliveryView), nextCursor: hasMore ? encodeCursor([data[data.length - 1]!.id]) : null }
  }

  /** Attempts the delivery's event again now; returns the pending attempt. */
  async retry(caller: SecretCaller, id: string, deliveryId: string) {
    await this.enabled(caller, id)
    const delivery = await this.deps.log.find(id, deliveryId)
    if (!delivery) throw notFound('Delivery')
    const pending = await this.deps.log.retry(id, delivery.eventId, this.deps.clock.now())
    if (!pending) throw notFound('Delivery')
    this.deps.onDue()
    return deliveryView(pending)
  }

  private async find(caller: SecretCaller, id: string): Promise<Endpoint> {
    const endpoint = await this.deps.store.find(caller.tenant.id, caller.environment, id)
    if (!endpoint) throw notFound('Webhook endpoint')
    return endpoint
  }

  /** The endpoint, which must be enabled for what is asked of it. */
  private async enabled(caller: SecretCaller, id: string): Promise<Endpoint> {
    const endpoint = await this.find(caller, id)
    if (!endpoint.enabled) throw new ApiError('conflict', `Webhook endpoint ${id} is disabled; enable it first (PATCH with enabled: true)`)
    return endpoint
  }

  private async checkUrl(url: string): Promise<void> {
    const refusal = await this.deps.guard.refusal(url)
    if (refusal) throw invalidParam('url', refusal)
  }
}

function checkEvents(events: string[]): string[] {
  events.forEach((type, i) => {
    if (type !== '*' && !isEventType(type)) throw invalidParam(`events[${i}]`, `unknown event type "${type}" (see GET /v1/webhooks/event-types)`)
  })
  return events
}

export function deliveryView(delivery: Delivery) {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    attempt: delivery.attempt,
    status: delivery.status,
    responseStatus: delivery.responseStatus,
    durationMs: delivery.durationMs,
    error: delivery.error,
    responseBody: delivery.responseBody,
    createdAt: delivery.createdAt,
    attemptedAt: delivery.attemptedAt,
    nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt : null,
  }
}
