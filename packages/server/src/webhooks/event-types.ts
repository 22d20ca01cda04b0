/**
 * The catalogue of event types an endpoint can subscribe to (GET /v1/webhooks/event-types): every
 * domain event type, with a line for humans. Typed by the event union, so a new event type that
 * is not described here fails the build.
 */
import type { EventType } from '../events/envelope.js'

const DESCRIPTIONS: Record<EventType, string> = {
  'message.created': 'A message was sent. data: the message.',
  'message.updated': 'A message was edited. data: the message after the edit.',
  'message.deleted': 'A message was deleted. data: the message after deletion (text "", metadata null).',
  'conversation.created': 'A conversation was created. data: the conversation with its members.',
  'conversation.updated': 'A conversation was renamed or its metadata changed. data: the conversation.',
  'conversation.deleted': 'A conversation was deleted with its messages. data: { id, memberIds }.',
  'member.added': 'A user joined a conversation. data: { conversationId, userId, role, joinedAt, lastReadSeq }.',
  'member.removed': 'A user left or was removed from a conversation. data: { conversationId, userId }.',
  'read.updated': "A member's read position moved forward. data: { conversationId, userId, lastReadSeq }.",
  'user.created': 'A user was created (an upsert of a new id, or a visitor\'s first session). data: the user.',
  'user.updated': 'A user was changed. data: the user after the change.',
  'user.deleted': 'A user was deleted. data: { id }.',
  'key.created': 'An API key was created. data: the key (never its secret).',
  'key.revoked': 'An API key was revoked. data: the key.',
  'key.rolled': 'An API key was replaced by a new one. data: the new key and previous: { id, expiresAt }.',
  'key.alert': 'A usage alert rule fired for a key. data: { alertId, keyId, rule, … } with the rule\'s figures.',
  'key.leaked': 'A key was reported found in public and revoked for it (a key.revoked comes with it). data: { keyId, environment, url, source }.',
  'webhook.test': 'Sent on request (POST /v1/webhooks/{id}/test) to one endpoint, whatever its event filter.',
}

export const EVENT_TYPES: { type: EventType; description: string }[] = Object.entries(DESCRIPTIONS).map(([type, description]) => ({
  type: type as EventType,
  description,
}))

const KNOWN = new Set<string>(Object.keys(DESCRIPTIONS))

export const isEventType = (value: string): value is EventType => KNOWN.has(value)

/** Does an endpoint subscribed to `filter` get events of `type`? */
export const subscribes = (filter: readonly string[], type: string): boolean => filter.includes('*') || filter.includes(type)
