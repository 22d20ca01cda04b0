import type { Selectable } from 'kysely'
import type { Environment } from '../core/environment.js'
import { fromJson } from '../lib/json.js'
import type { ConversationsTable, MembersTable } from '../storage/schema.js'

export interface Conversation {
  tenantId: string
  environment: Environment
  id: string
  type: 'direct' | 'group'
  name: string | null
  metadata: Record<string, unknown> | null
  directKey: string | null
  lastSeq: number
  /** Internal: changes with every message sent, edited or deleted (never shown in the API). */
  historyRevision: number
  lastActivityAt: string
  createdBy: string | null
  createdAt: string
  updatedAt: string
}

export interface Member {
  userId: string
  role: 'owner' | 'member'
  joinedAt: string
  lastReadSeq: number
}

/** Where a conversation lives: every query is scoped by tenant and environment. */
export interface ChatScope {
  tenantId: string
  environment: Environment
}

export const MAX_MEMBERS = 1000

/** The key that makes a direct conversation unique per pair, whatever the order of its members. */
export function directKeyOf(members: readonly string[]): string {
  // A space cannot occur in a user id, so it cannot make two different pairs collide.
  return [...members].sort().join(' ')
}

export function conversationFromRow(row: Selectable<ConversationsTable>): Conversation {
  return {
    tenantId: row.tenant_id,
    environment: row.environment,
    id: row.id,
    type: row.type,
    name: row.name,
    metadata: fromJson(row.metadata),
    directKey: row.direct_key,
    lastSeq: Number(row.last_seq),
    historyRevision: Number(row.history_revision),
    lastActivityAt: row.last_activity_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function memberFromRow(row: Selectable<MembersTable>): Member {
  return { userId: row.user_id, role: row.role, joinedAt: row.joined_at, lastReadSeq: Number(row.last_read_seq) }
}

export function conversationView(conversation: Conversation) {
  return {
    id: conversation.id,
    type: conversation.type,
    name: conversation.name,
    metadata: conversation.metadata,
    lastSeq: conversation.lastSeq,
    createdAt: conversation.createdAt,
    updatedAt: conversation.updatedAt,
    lastActivityAt: conversation.lastActivityAt,
  }
}
