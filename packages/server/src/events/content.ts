/**
 * Content in stored events: the text, names and metadata some events carry. A stored event keeps
 * its content apart from the rest of its data (the `content` column, with placeholders in `data`),
 * so that forgetting the content once it is edited or deleted (API.md §12) is setting one column
 * to NULL: no JSON is rewritten in SQL, the same on both engines.
 *
 * `contentId` names whose content a row holds (a message, a conversation, a user): the index the
 * redactions look rows up by (redaction.ts). Every event type that carries content has it in
 * `data.id`.
 */
import type { DomainEvent, EventData, EventType } from './envelope.js'

/** Whose content an event type carries. */
export type ContentOwner = 'message' | 'conversation' | 'user'

type ContentTable = {
  [T in EventType]?: {
    of: ContentOwner
    /** What stands in `data` for each content field; what a reader sees once it is forgotten. */
    placeholders: Partial<EventData<T>>
  }
}

const CONTENT = {
  'message.created': { of: 'message', placeholders: { text: '', metadata: null } },
  'message.updated': { of: 'message', placeholders: { text: '', metadata: null } },
  'conversation.created': { of: 'conversation', placeholders: { name: null, metadata: null } },
  'conversation.updated': { of: 'conversation', placeholders: { name: null, metadata: null } },
  'user.created': { of: 'user', placeholders: { username: null, displayName: null, avatarUrl: null, metadata: null } },
  'user.updated': { of: 'user', placeholders: { username: null, displayName: null, avatarUrl: null, metadata: null } },
} as const satisfies ContentTable

const entries = Object.entries(CONTENT) as [EventType, { of: ContentOwner; placeholders: Record<string, unknown> }][]
const BY_TYPE = new Map(entries.map(([type, entry]) => [type as string, { ...entry, fields: Object.keys(entry.placeholders) }]))

/** The event types whose content belongs to `owner`. */
export const contentTypesOf = (owner: ContentOwner): EventType[] => entries.filter(([, e]) => e.of === owner).map(([type]) => type)

/** An event as the outbox stores it. */
export interface StoredForm {
  data: string
  content: string | null
  contentId: string | null
}

export function storedForm(event: DomainEvent): StoredForm {
  const entry = BY_TYPE.get(event.type)
  if (!entry) return { data: JSON.stringify(event.data), content: null, contentId: null }
  const data = event.data as unknown as Record<string, unknown> & { id: string }
  const content: Record<string, unknown> = {}
  for (const field of entry.fields) content[field] = data[field]
  // The placeholders overwrite keys `data` already has, so the fields keep their order.
  return { data: JSON.stringify({ ...data, ...entry.placeholders }), content: JSON.stringify(content), contentId: data.id }
}

/** The data of a stored event: its content put back in place, or the placeholders once forgotten. */
export function dataOf(stored: { data: string; content: string | null }): unknown {
  const data = JSON.parse(stored.data) as Record<string, unknown>
  return stored.content === null ? data : Object.assign(data, JSON.parse(stored.content))
}
