/** Kysely queries for messages: seq reservation, membership and idempotency lookups, inserts and updates (history pages: history-reader.ts). */
import type { Kysely } from 'kysely'
import { toJson } from '../lib/json.js'
import type { ChatScope } from '../conversations/model.js'
import { type Arg, prepare, prepareBySize } from '../storage/prepared.js'
import type { Database } from '../storage/schema.js'
import { MESSAGE_COLUMNS, type Message, messageFromRow } from './model.js'

type Db = Kysely<Database>

/** Rows per multi-row insert: 12 columns × 40 rows stay well under SQLite's bound-parameter limit. */
const INSERT_CHUNK = 40
const INSERT_COLUMNS = 10 // bound per row; edited_at and deleted_at are constants

export class MessageStore {
  // The queries of the send path, compiled once (storage/prepared.ts).
  private readonly reserveQuery
  private readonly insertQuery
  private readonly membersAmongQuery
  private readonly byClientIdsQuery

  constructor(readonly db: Db) {
    this.reserveQuery = prepare((arg) =>
      db
        .updateTable('conversations')
        .where('tenant_id', '=', arg(0))
        .where('environment', '=', arg(1))
        .where('id', '=', arg(2))
        .set((eb) => ({ last_seq: eb('last_seq', '+', arg(3)), last_activity_at: arg(4), history_revision: eb('history_revision', '+', 1) }))
        .returning('last_seq'),
    )
    this.insertQuery = prepareBySize((arg, size) =>
      db.insertInto('messages').values(
        Array.from({ length: size }, (_, row) => {
          const at = (column: number) => arg(row * INSERT_COLUMNS + column)
          return {
            tenant_id: at(0),
            environment: at(1),
            conversation_id: at(2),
            seq: at(3),
            id: at(4),
            sender_id: at(5),
            text: at(6),
            metadata: at(7),
            client_message_id: at(8),
            created_at: at(9),
            edited_at: null,
            deleted_at: null,
          }
        }),
      ),
    )
    this.membersAmongQuery = prepareBySize((arg, size) => membershipLookup(db, arg, size))
    this.byClientIdsQuery = prepareBySize((arg, size) => retryLookup(db, arg, size))
  }

  /**
   * Reserves `count` seqs of a conversation for new messages and returns the last of them (null if
   * the conversation is gone), moving its activity time and history revision. The UPDATE holds the
   * row lock (PostgreSQL) or the write lock (SQLite) until the transaction ends, so concurrent
   * batches queue here and seqs come out gap-free.
   */
  async reserveSeqs(scope: ChatScope, conversationId: string, count: number, at: string, db: Db): Promise<number | null> {
    const [row] = await this.reserveQuery.execute(db, [scope.tenantId, scope.environment, conversationId, count, at])
    return row ? Number(row.last_seq) : null
  }

  /** Which of these (conversation, user) pairs are memberships (at most a batch's worth). */
  async membersAmong(scope: ChatScope, pairs: [string, string][], db: Db): Promise<(conversationId: string, userId: string) => boolean> {
    const rows = await this.membersAmongQuery(pairs.length).execute(db, [scope.tenantId, scope.environment, ...pairs.flat()])
    const found = new Set(rows.map((r) => `${r.conversation_id}\u0000${r.user_id}`))
    return (conversationId, userId) => found.has(`${conversationId}\u0000${userId}`)
  }

  /** Inserts many messages of one conversation, a few dozen rows per statement. */
  async insertMany(scope: ChatScope, messages: readonly Message[], db: Db): Promise<void> {
    for (let i = 0; i < messages.length; i += INSERT_CHUNK) {
      const chunk = messages.slice(i, i + INSERT_CHUNK)
      const args = chunk.flatMap((m) => [
        scope.tenantId,
        scope.environment,
        m.conversationId,
        m.seq,
        m.id,
        m.senderId,
        m.text,
        toJson(m.metadata),
        m.clientMessageId,
        m.createdAt,
      ])
      await this.insertQuery(chunk.length).execute(db, args)
    }
  }

  /** The messages of one conversation, for the queries below. */
  private inConversation(scope: ChatScope, conversationId: string) {
    return this.db
      .selectFrom('messages')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
  }

  /** Messages already sent with these (conversation, sender, client message id) triples. */
  async findByClientIds(scope: ChatScope, triples: [string, string, string][], db: Db): Promise<Message[]> {
    if (triples.length === 0) return []
    const rows = await this.byClientIdsQuery(triples.length).execute(db, [scope.tenantId, scope.environment, ...triples.flat()])
    return rows.map(messageFromRow)
  }

  async findByClientId(scope: ChatScope, conversationId: string, senderId: string, clientMessageId: string): Promise<Message | null> {
    const row = await this.inConversation(scope, conversationId)
      .select(MESSAGE_COLUMNS)
      .where('sender_id', '=', senderId)
      .where('client_message_id', '=', clientMessageId)
      .executeTakeFirst()
    return row ? messageFromRow(row) : null
  }

  async find(scope: ChatScope, conversationId: string, id: string): Promise<Message | null> {
    const row = await this.byIdQuery(scope, conversationId, id).executeTakeFirst()
    return row ? messageFromRow(row) : null
  }

  /** The query of `find`, a seek of the index by id (public for the query-plan test). */
  byIdQuery(scope: ChatScope, conversationId: string, id: string) {
    return this.inConversation(scope, conversationId).select(MESSAGE_COLUMNS).where('id', '=', id)
  }

  /** Up to `limit` messages after a seq, in order (what a resuming socket missed). */
  async after(scope: ChatScope, conversationId: string, seq: number, limit: number): Promise<Message[]> {
    const rows = await this.inConversation(scope, conversationId).select(MESSAGE_COLUMNS).where('seq', '>', seq).orderBy('seq').limit(limit).execute()
    return rows.map(messageFromRow)
  }

  /**
   * Messages at or below `seq` (the 1,000 before it at most) edited or deleted after message `seq`
   * was created: what a client that had seen up to `seq` missed besides new messages.
   */
  async changedSince(scope: ChatScope, conversationId: string, seq: number): Promise<Message[]> {
    const inConversation = this.inConversation(scope, conversationId)
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

  /** Edits or soft-deletes a message, and moves its conversation's history revision. */
  async update(
    scope: ChatScope,
    message: Pick<Message, 'conversationId' | 'seq'>,
    changes: { text: string; metadata?: null; editedAt?: string; deletedAt?: string },
    db: Db,
  ): Promise<void> {
    await db
      .updateTable('conversations')
      .set((eb) => ({ history_revision: eb('history_revision', '+', 1) }))
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('id', '=', message.conversationId)
      .execute()
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

/*
 * The batch lookups of the writer: arguments are the tenant, the environment, then the pairs (or
 * triples) one after another. Each OR term names the whole key, so every one is an index seek:
 * with the tenant and environment outside the OR, SQLite would range-scan the tenant's rows instead
 * (milliseconds per batch for a large tenant). Exported for the query-plan test.
 */

/** Which (conversation, user) pairs are memberships: a primary-key seek per pair. */
export function membershipLookup(db: Db, arg: Arg, size: number) {
  return db
    .selectFrom('members')
    .select(['conversation_id', 'user_id'])
    .where((eb) =>
      eb.or(
        Array.from({ length: size }, (_, i) =>
          eb.and([eb('tenant_id', '=', arg(0)), eb('environment', '=', arg(1)), eb('conversation_id', '=', arg(2 + 2 * i)), eb('user_id', '=', arg(3 + 2 * i))]),
        ),
      ),
    )
}

/** Messages sent with these (conversation, sender, client message id) triples: a unique-index seek each. */
export function retryLookup(db: Db, arg: Arg, size: number) {
  return db
    .selectFrom('messages')
    .select(MESSAGE_COLUMNS)
    .where((eb) =>
      eb.or(
        Array.from({ length: size }, (_, i) =>
          eb.and([
            eb('tenant_id', '=', arg(0)),
            eb('environment', '=', arg(1)),
            eb('conversation_id', '=', arg(2 + 3 * i)),
            eb('sender_id', '=', arg(3 + 3 * i)),
            eb('client_message_id', '=', arg(4 + 3 * i)),
          ]),
        ),
      ),
    )
}
