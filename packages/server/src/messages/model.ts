import { type RawBuilder, type Selectable, sql } from 'kysely'
import { fromJson } from '../lib/json.js'
import type { MessagesTable } from '../storage/schema.js'

export interface Message {
  id: string
  conversationId: string
  seq: number
  senderId: string
  text: string
  metadata: Record<string, unknown> | null
  clientMessageId: string | null
  createdAt: string
  editedAt: string | null
  deletedAt: string | null
}

export const MAX_TEXT_LENGTH = 10_000

/** The columns a message is made of (not the tenant and environment its queries filter on). */
export const MESSAGE_COLUMNS = [
  'conversation_id',
  'seq',
  'id',
  'sender_id',
  'text',
  'metadata',
  'client_message_id',
  'created_at',
  'edited_at',
  'deleted_at',
] as const

/**
 * A message in its API shape, as JSON text built by SQLite (history-reader.ts says why). The fields
 * are the ones of `Message` and MessageSchema, in the same order; the history tests compare a page
 * with the messages as they were returned when sent. Metadata SQLite cannot parse reads as null
 * rather than failing the whole page: validation now keeps it 8 levels deep, but rows stored before
 * that rule may nest past SQLite's JSON depth limit (1,000), and one of them would otherwise break
 * every page that holds it (API.md §12: no stored value can make a read fail).
 */
export const MESSAGE_JSON_SQLITE: RawBuilder<string> = sql<string>`json_object('id', id, 'conversationId', conversation_id, 'seq', seq,
  'senderId', sender_id, 'text', text, 'metadata', iif(json_valid(metadata), json(metadata), null), 'clientMessageId', client_message_id, 'createdAt', created_at,
  'editedAt', edited_at, 'deletedAt', deleted_at)`

export function messageFromRow(row: Pick<Selectable<MessagesTable>, (typeof MESSAGE_COLUMNS)[number]>): Message {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: Number(row.seq),
    senderId: row.sender_id,
    text: row.text,
    metadata: fromJson(row.metadata),
    clientMessageId: row.client_message_id,
    createdAt: row.created_at,
    editedAt: row.edited_at,
    deletedAt: row.deleted_at,
  }
}
