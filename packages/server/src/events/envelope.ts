/**
 * The domain event envelope: one per change to chat state, written to the outbox in the same
 * transaction as the change, then published on the in-process bus. The realtime gateway fans it
 * out to sockets and (in a later release) webhooks deliver it; both read only this shape.
 *
 * `type` is a realtime event name (API.md §6) or `key.alert`; the other webhook-only types (§7)
 * join it with webhooks.
 */
import type { Environment } from '../auth/key-format.js'

export type ChatEventType =
  | 'message.created'
  | 'message.updated'
  | 'message.deleted'
  | 'conversation.created'
  | 'conversation.updated'
  | 'conversation.deleted'
  | 'member.added'
  | 'member.removed'
  | 'read.updated'
  | 'key.alert'

export interface DomainEvent {
  /** `evt_…`, stable: the same id in the outbox, on the socket and (later) in webhook-id. */
  id: string
  type: ChatEventType
  tenantId: string
  environment: Environment
  conversationId: string | null
  /** ISO 8601 UTC. */
  createdAt: string
  data: Record<string, unknown>
}
