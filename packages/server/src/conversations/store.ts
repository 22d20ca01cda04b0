/** Kysely queries for conversations and members. Every query is scoped by tenant and environment. */
import type { Kysely } from 'kysely'
import { toJson } from '../lib/json.js'
import { prepare } from '../storage/prepared.js'
import type { Database } from '../storage/schema.js'
import { type ChatScope, type Conversation, type Member, conversationFromRow, memberFromRow } from './model.js'
import { unreadOfMembership } from './unread-query.js'

type Db = Kysely<Database>

export class ConversationStore {
  // Every chat request opens its conversation with one of these (storage/prepared.ts).
  private readonly findQuery
  private readonly withMemberQuery

  constructor(readonly db: Db) {
    this.findQuery = prepare((arg) =>
      db.selectFrom('conversations').selectAll().where('tenant_id', '=', arg(0)).where('environment', '=', arg(1)).where('id', '=', arg(2)),
    )
    this.withMemberQuery = prepare((arg) =>
      db
        .selectFrom('conversations as c')
        .leftJoin('members as m', (join) =>
          join
            .onRef('m.tenant_id', '=', 'c.tenant_id')
            .onRef('m.environment', '=', 'c.environment')
            .onRef('m.conversation_id', '=', 'c.id')
            .on('m.user_id', '=', arg(3)),
        )
        .selectAll('c')
        .select(['m.role as member_role', 'm.joined_at as member_joined_at', 'm.last_read_seq as member_last_read_seq'])
        .where('c.tenant_id', '=', arg(0))
        .where('c.environment', '=', arg(1))
        .where('c.id', '=', arg(2)),
    )
  }

  async find(scope: ChatScope, id: string, db: Db = this.db): Promise<Conversation | null> {
    const [row] = await this.findQuery.execute(db, [scope.tenantId, scope.environment, id])
    return row ? conversationFromRow(row) : null
  }

  /** The conversation and, in the same query, one user's membership of it (null if not a member). */
  async findWithMember(scope: ChatScope, id: string, userId: string): Promise<{ conversation: Conversation; member: Member | null } | null> {
    const [row] = await this.withMemberQuery.execute(this.db, [scope.tenantId, scope.environment, id, userId])
    if (!row) return null
    const member: Member | null =
      row.member_role === null
        ? null
        : { userId, role: row.member_role, joinedAt: row.member_joined_at!, lastReadSeq: Number(row.member_last_read_seq) }
    return { conversation: conversationFromRow(row), member }
  }

  async findDirect(scope: ChatScope, directKey: string): Promise<Conversation | null> {
    const row = await this.db
      .selectFrom('conversations')
      .selectAll()
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('direct_key', '=', directKey)
      .executeTakeFirst()
    return row ? conversationFromRow(row) : null
  }

  async insert(conversation: Conversation, members: Member[], db: Db): Promise<void> {
    await db
      .insertInto('conversations')
      .values({
        tenant_id: conversation.tenantId,
        environment: conversation.environment,
        id: conversation.id,
        type: conversation.type,
        name: conversation.name,
        metadata: toJson(conversation.metadata),
        direct_key: conversation.directKey,
        last_seq: 0,
        history_revision: conversation.historyRevision,
        last_activity_at: conversation.lastActivityAt,
        created_by: conversation.createdBy,
        created_at: conversation.createdAt,
        updated_at: conversation.updatedAt,
      })
      .execute()
    await this.addMembers(conversation, members, db)
  }

  async addMembers(scope: ChatScope & { id: string }, members: Member[], db: Db): Promise<void> {
    if (members.length === 0) return
    await db
      .insertInto('members')
      .values(
        members.map((m) => ({
          tenant_id: scope.tenantId,
          environment: scope.environment,
          conversation_id: scope.id,
          user_id: m.userId,
          role: m.role,
          joined_at: m.joinedAt,
          last_read_seq: m.lastReadSeq,
        })),
      )
      .onConflict((oc) => oc.columns(['tenant_id', 'environment', 'conversation_id', 'user_id']).doNothing())
      .execute()
  }

  async members(scope: ChatScope, conversationId: string, db: Db = this.db): Promise<Member[]> {
    const rows = await db
      .selectFrom('members')
      .selectAll()
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
      .orderBy('joined_at')
      .orderBy('user_id')
      .execute()
    return rows.map(memberFromRow)
  }

  async member(scope: ChatScope, conversationId: string, userId: string): Promise<Member | null> {
    const row = await this.db
      .selectFrom('members')
      .selectAll()
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
    return row ? memberFromRow(row) : null
  }

  /** Conversation ids a user belongs to (for socket subscriptions and unread totals). */
  async conversationIdsOf(scope: ChatScope, userId: string): Promise<string[]> {
    const rows = await this.idsOfQuery(scope, userId).execute()
    return rows.map((r) => r.conversation_id)
  }

  /** The query of `conversationIdsOf`, covered by the index by user (public for the query-plan test). */
  idsOfQuery(scope: ChatScope, userId: string) {
    return this.db
      .selectFrom('members')
      .select('conversation_id')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('user_id', '=', userId)
  }

  /** The conversation ids of several users in one query, by user (a user with none is absent). */
  async conversationIdsOfUsers(scope: ChatScope, userIds: readonly string[]): Promise<Map<string, string[]>> {
    const byUser = new Map<string, string[]>()
    if (userIds.length === 0) return byUser
    const rows = await this.idsOfUsersQuery(scope, userIds).execute()
    for (const row of rows) {
      const ids = byUser.get(row.user_id)
      if (ids) ids.push(row.conversation_id)
      else byUser.set(row.user_id, [row.conversation_id])
    }
    return byUser
  }

  /** The query of `conversationIdsOfUsers`, covered by the index by user (public for the query-plan test). */
  idsOfUsersQuery(scope: ChatScope, userIds: readonly string[]) {
    return this.db
      .selectFrom('members')
      .select(['user_id', 'conversation_id'])
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('user_id', 'in', userIds)
  }

  /** A page ordered by last activity, newest first; optionally only one user's conversations. */
  async list(scope: ChatScope, userId: string | null, limit: number, after: [string, string] | null): Promise<Conversation[]> {
    let query = this.db
      .selectFrom('conversations as c')
      .selectAll('c')
      .where('c.tenant_id', '=', scope.tenantId)
      .where('c.environment', '=', scope.environment)
    if (userId !== null) {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('members as m')
            .select('m.user_id')
            .whereRef('m.tenant_id', '=', 'c.tenant_id')
            .whereRef('m.environment', '=', 'c.environment')
            .whereRef('m.conversation_id', '=', 'c.id')
            .where('m.user_id', '=', userId),
        ),
      )
    }
    if (after) {
      const [activity, id] = after
      query = query.where((eb) =>
        eb.or([eb('c.last_activity_at', '<', activity), eb.and([eb('c.last_activity_at', '=', activity), eb('c.id', '<', id)])]),
      )
    }
    const rows = await query.orderBy('c.last_activity_at', 'desc').orderBy('c.id', 'desc').limit(limit).execute()
    return rows.map(conversationFromRow)
  }

  /**
   * Unread messages per conversation for one member: above its read position, not its own, not
   * deleted (unread-query.ts): one query, a count per membership.
   */
  async unreadCounts(scope: ChatScope, userId: string, conversationIds: string[] | null): Promise<Map<string, number>> {
    if (conversationIds !== null && conversationIds.length === 0) return new Map()
    let query = this.db
      .selectFrom('members as mb')
      .select((eb) => ['mb.conversation_id as conversationId', unreadOfMembership(eb).as('unread')])
      .where('mb.tenant_id', '=', scope.tenantId)
      .where('mb.environment', '=', scope.environment)
      .where('mb.user_id', '=', userId)
    if (conversationIds !== null) query = query.where('mb.conversation_id', 'in', conversationIds)
    const rows = await query.execute()
    return new Map(rows.filter((r) => Number(r.unread) > 0).map((r) => [r.conversationId, Number(r.unread)]))
  }

  async update(scope: ChatScope, id: string, changes: { name?: string | null; metadata?: Record<string, unknown> | null }, updatedAt: string, db: Db) {
    await db
      .updateTable('conversations')
      .set({
        ...(changes.name !== undefined && { name: changes.name }),
        ...(changes.metadata !== undefined && { metadata: toJson(changes.metadata) }),
        updated_at: updatedAt,
      })
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('id', '=', id)
      .execute()
  }

  /**
   * The conversation row goes first: on PostgreSQL that waits for a send holding it (a send
   * reserves its seq by updating the row) and makes later sends find no conversation, so the
   * messages deleted next include every message that will ever be committed to it, none orphaned.
   */
  async delete(scope: ChatScope, id: string, db: Db): Promise<void> {
    await db
      .deleteFrom('conversations')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('id', '=', id)
      .execute()
    for (const table of ['messages', 'members'] as const) {
      await db
        .deleteFrom(table)
        .where('tenant_id', '=', scope.tenantId)
        .where('environment', '=', scope.environment)
        .where('conversation_id', '=', id)
        .execute()
    }
  }

  async removeMember(scope: ChatScope, conversationId: string, userId: string, db: Db): Promise<boolean> {
    const result = await db
      .deleteFrom('members')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  /** Moves the read position forward only; returns whether it moved. */
  async advanceRead(scope: ChatScope, conversationId: string, userId: string, seq: number, db: Db): Promise<boolean> {
    const result = await db
      .updateTable('members')
      .set({ last_read_seq: seq })
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .where('last_read_seq', '<', seq)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }
}
