/**
 * The domain event envelope: one per change, written to the outbox in the same transaction as the
 * change, then published on the in-process bus. The realtime gateway fans it out to sockets;
 * webhooks and push will consume the same records.
 *
 * Events are a discriminated union on `type`: narrowing on it types `data`. Each domain declares
 * its own event types and their data, next to its view types, by adding entries to
 * `EventDataByType` (declaration merging, as Fastify's request decorations do), so this module
 * needs no domain import and the layers keep pointing one way:
 *
 *   declare module '../events/envelope.js' {
 *     interface EventDataByType { 'message.created': Message }
 *   }
 *
 * The entries today: conversations/events.ts, messages/events.ts, alerts/events.ts.
 */
import type { Environment } from '../core/environment.js'

// Filled in by the domains (see above); the empty body is the point of declaration merging.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EventDataByType {}

export type EventType = keyof EventDataByType

/** The data of one event type. */
export type EventData<T extends EventType> = EventDataByType[T]

/** The event of one type. */
export interface EventOf<T extends EventType> {
  /** `evt_…`, stable: the same id in the outbox, on the socket and (later) in webhook-id. */
  id: string
  type: T
  tenantId: string
  environment: Environment
  /** The conversation concerned, or null for events outside conversations (`key.alert`). */
  conversationId: string | null
  /** ISO 8601 UTC. */
  createdAt: string
  data: EventData<T>
}

/** Any domain event: `event.type === 'member.added'` narrows `event.data` to that type's data. */
export type DomainEvent = { [T in EventType]: EventOf<T> }[EventType]
