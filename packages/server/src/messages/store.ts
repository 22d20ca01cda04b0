/** Kysely queries for messages: seq allocation, idempotency lookups, history by seq ranges. */
import type { Kysely } from 'kysely'
import { toJson } from '../lib/json.js'
import type { ChatScope } from '../conversations/model.js'
import type { Database } from '../storage/schema.js'
import { MESSAGE_COLUMNS, type Message, messageFromRow } from './model.js'

type Db = Kysely<Database>

export class MessageStore {
  constructor(readonly db: Db) {}

  /**
   * Locks a conversation for a batch of sends and returns its last seq (null if it is gone). The
   * UPDATE holds the row lock (PostgreSQL) or the write lock (SQLite) until the transaction ends,
   * so concurrent batches queue here and seqs come out gap-free.
   */
  async lockForSend(scope: ChatScope, conversationId: string, at: string, db: Db): Promise<number | null> {
    const row = await db
      .updateTable('conversations')
      .set({ last_activity_at: at })
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('id', '=', conversationId)
      .returning('last_seq')
      .executeTakeFirst()
    return row ? Number(row.last_seq) : null
  }

  async setLastSeq(scope: ChatScope, conversationId: string, lastSeq: number, db: Db): Promise<void> {
    await db
      .updateTable('conversations')
      .set({ last_seq: lastSeq })
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('id', '=', conversationId)
      .execute()
  }

  /** Inserts many messages of one conversation, a few dozen rows per statement. */
  async insertMany(scope: ChatScope, messages: readonly Message[], db: Db): Promise<void> {
    // 12 columns: 40 rows stay well under SQLite's limit on bound parameters.
    for (let i = 0; i < messages.length; i += 40) {
      await db
        .insertInto('messages')
        .values(
          messages.slice(i, i + 40).map((message) => ({
            tenant_id: scope.tenantId,
            environment: scope.environment,
            conversation_id: message.conversationId,
            seq: message.seq,
            id: message.id,
            sender_id: message.senderId,
            text: message.text,
            metadata: toJson(message.metadata),
            client_message_id: message.clientMessageId,
            created_at: message.createdAt,
            edited_at: null,
            deleted_at: null,
          })),
        )
        .execute()
    }
  }

  /** Messages of a conversation already sent with any of these client message ids. */
  async findByClientIds(scope: ChatScope, conversationId: string, clientMessageIds: string[], db: Db): Promise<Message[]> {
    if (clientMessageIds.length === 0) return []
    const rows = await db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
      .where('client_message_id', 'in', clientMessageIds)
      .execute()
    return rows.map(messageFromRow)
  }

  async findByClientId(scope: ChatScope, conversationId: string, senderId: string, clientMessageId: string, db: Db = this.db) {
    const row = await db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
      .where('sender_id', '=', senderId)
      .where('client_message_id', '=', clientMessageId)
      .executeTakeFirst()
    return row ? messageFromRow(row) : null
  }

  async find(scope: ChatScope, conversationId: string, id: string): Promise<Message | null> {
    const row = await this.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? messageFromRow(row) : null
  }

  /**
   * Up to `limit + 1` messages next to a seq, always by the primary key (conversation, seq):
   * `below` walks down from the top (or from `before`), `above` walks up from `after`.
   */
  async page(
    scope: ChatScope,
    conversationId: string,
    range: { below: number | null } | { above: number },
    limit: number,
  ): Promise<Message[]> {
    let query = this.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
    if ('above' in range) {
      query = query.where('seq', '>', range.above).orderBy('seq', 'asc')
    } else {
      if (range.below !== null) query = query.where('seq', '<', range.below)
      query = query.orderBy('seq', 'desc')
    }
    const rows = await query.limit(limit + 1).execute()
    return rows.map(messageFromRow)
  }

  /**
   * Messages at or below `seq` (the 1,000 before it at most) edited or deleted after message `seq`
   * was created: what a client that had seen up to `seq` missed besides new messages.
   */
  async changedSince(scope: ChatScope, conversationId: string, seq: number): Promise<Message[]> {
    const inConversation = this.db
      .selectFrom('messages')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
    const seen = await inConversation.select('created_at').where('seq', '=', seq).executeTakeFirst()
    if (!seen) return []
    const rows = await inConversation
      .select(MESSAGE_COLUMNS)
      .where('seq', '>', seq - 1000)
      .where('seq', '<=', seq)
      .where((eb) => eb.or([eb('edited_at', '>', seen.created_at), eb('deleted_at', '>', seen.created_at)]))
      .orderBy('seq')
      .execute()
    return rows.map(messageFromRow)
  }

  /** The last message of each conversation (for conversation lists). */
  async lastMessages(scope: ChatScope, conversations: { id: string; lastSeq: number }[]): Promise<Map<string, Message>> {
    const withMessages = conversations.filter((c) => c.lastSeq > 0)
    if (withMessages.length === 0) return new Map()
    const rows = await this.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where((eb) => eb.or(withMessages.map((c) => eb.and([eb('conversation_id', '=', c.id), eb('seq', '=', c.lastSeq)]))))
      .execute()
    return new Map(rows.map((r) => [r.conversation_id, messageFromRow(r)]))
  }

  async update(
    scope: ChatScope,
    message: Pick<Message, 'conversationId' | 'seq'>,
    changes: { text: string; metadata?: null; editedAt?: string; deletedAt?: string },
    db: Db,
  ): Promise<void> {
    await db
      .updateTable('messages')
      .set({
        text: changes.text,
        ...(changes.metadata !== undefined && { metadata: null }),
        ...(changes.editedAt !== undefined && { edited_at: changes.editedAt }),
        ...(changes.deletedAt !== undefined && { deleted_at: changes.deletedAt }),
      })
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', message.conversationId)
      .where('seq', '=', message.seq)
      .execute()
  }
}
