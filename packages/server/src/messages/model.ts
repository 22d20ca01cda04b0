import type { Selectable } from 'kysely'
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

/**
 * The columns a message is made of. Queries select only these (not the tenant and environment
 * they already filter on): materialising rows is most of the cost of a history page.
 */
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
