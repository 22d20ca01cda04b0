/** Conversation changes (API.md §5.1): create, rename, delete, add and remove members. */
import { ApiError, invalidParam } from '../core/errors.js'
import { domainEvent } from '../events/outbox.js'
import type { UnitOfWork } from '../events/unit-of-work.js'
import { newId } from '../core/ids.js'
import { isUniqueViolation } from '../storage/database.js'
import type { UserStore } from '../users/store.js'
import { type ChatCaller, openConversation, scopeOf } from './access.js'
import type { ConversationReader } from './reader.js'
import { type ChatScope, type Conversation, MAX_MEMBERS, type Member, conversationView, directKeyOf } from './model.js'
import type { ConversationStore } from './store.js'

export interface CreateConversationInput {
  id?: string
  type: 'direct' | 'group'
  name?: string | null
  members: string[]
  metadata?: Record<string, unknown> | null
}

export class ConversationService {
  constructor(
    private readonly store: ConversationStore,
    private readonly users: UserStore,
    private readonly reader: ConversationReader,
    private readonly uow: UnitOfWork,
  ) {}

  /** 201 with a new conversation, or 200 with the existing direct conversation of that pair. */
  async create(caller: ChatCaller, input: CreateConversationInput) {
    refuseVisitorChoices(caller, input)
    const scope = scopeOf(caller)
    const memberIds = [...new Set(input.members)]
    if (caller.kind === 'session' && !memberIds.includes(caller.userId)) memberIds.push(caller.userId)
    if (memberIds.length > MAX_MEMBERS) throw invalidParam('members', `at most ${MAX_MEMBERS} members`)
    if (input.type === 'direct' && memberIds.length !== 2) {
      throw invalidParam('members', 'a direct conversation has exactly two distinct members')
    }
    if (memberIds.length === 0) throw invalidParam('members', 'needs at least one member')
    await this.requireUsers(scope, memberIds)

    const directKey = input.type === 'direct' ? directKeyOf(memberIds) : null
    if (directKey !== null) {
      const existing = await this.store.findDirect(scope, directKey)
      if (existing) return { created: false, conversation: await this.reopenDirect(caller, existing, memberIds) }
    }
    if (input.id !== undefined && (await this.store.find(scope, input.id))) {
      throw new ApiError('conflict', `Conversation ${input.id} already exists`)
    }
    const now = new Date().toISOString()
    const conversation: Conversation = {
      ...scope,
      id: input.id ?? newId('conversation'),
      type: input.type,
      name: input.name ?? null,
      metadata: input.metadata ?? null,
      directKey,
      lastSeq: 0,
      historyRevision: 0,
      lastActivityAt: now,
      createdBy: caller.kind === 'session' ? caller.userId : null,
      createdAt: now,
      updatedAt: now,
    }
    const members: Member[] = memberIds.map((userId) => ({
      userId,
      role: caller.kind === 'session' && userId === caller.userId ? 'owner' : 'member',
      joinedAt: now,
      lastReadSeq: 0,
    }))
    try {
      await this.uow.run(async (trx, emit) => {
        await this.store.insert(conversation, members, trx)
        emit(domainEvent('conversation.created', scope, conversation.id, { ...conversationView(conversation), members }))
      })
    } catch (error) {
      if (!isUniqueViolation(error)) throw error
      // Lost a race: the same pair's direct conversation, or the same id, was created meanwhile.
      const winner = directKey !== null ? await this.store.findDirect(scope, directKey) : null
      if (winner) return { created: false, conversation: await this.reopenDirect(caller, winner, memberIds) }
      throw new ApiError('conflict', `Conversation ${conversation.id} already exists`)
    }
    return { created: true, conversation: await this.reader.detail(caller, conversation) }
  }

  async patch(caller: ChatCaller, id: string, changes: { name?: string | null; metadata?: Record<string, unknown> | null }) {
    const { conversation } = await openConversation(this.store, caller, id, 'manage')
    const scope = scopeOf(caller)
    const updatedAt = new Date().toISOString()
    const updated = { ...conversation, ...changes, updatedAt }
    await this.uow.run(async (trx, emit) => {
      await this.store.update(scope, id, changes, updatedAt, trx)
      emit(domainEvent('conversation.updated', scope, id, conversationView(updated)))
    })
    return this.reader.detail(caller, updated)
  }

  async delete(caller: ChatCaller, id: string): Promise<void> {
    await openConversation(this.store, caller, id, 'manage')
    const scope = scopeOf(caller)
    await this.uow.run(async (trx, emit, redact) => {
      const members = await this.store.members(scope, id, trx)
      // Before the messages go: stored events lose the content of the conversation and its messages.
      await redact.conversation(scope, id)
      await this.store.delete(scope, id, trx)
      emit(domainEvent('conversation.deleted', scope, id, { id, memberIds: members.map((m) => m.userId) }))
    })
  }

  async addMembers(caller: ChatCaller, id: string, userIds: string[]) {
    const { conversation } = await openConversation(this.store, caller, id, 'manage')
    if (conversation.type === 'direct') throw invalidParam('userIds', 'a direct conversation keeps its two members')
    const scope = scopeOf(caller)
    const wanted = [...new Set(userIds)]
    await this.requireUsers(scope, wanted)
    await this.uow.run(async (trx, emit) => {
      const present = new Set((await this.store.members(scope, id, trx)).map((m) => m.userId))
      const joining = wanted.filter((userId) => !present.has(userId))
      if (present.size + joining.length > MAX_MEMBERS) throw invalidParam('userIds', `at most ${MAX_MEMBERS} members`)
      const joinedAt = new Date().toISOString()
      const members: Member[] = joining.map((userId) => ({ userId, role: 'member', joinedAt, lastReadSeq: 0 }))
      await this.store.addMembers({ ...scope, id }, members, trx)
      for (const member of members) emit(domainEvent('member.added', scope, id, { conversationId: id, ...member }))
    })
    return this.reader.detail(caller, conversation)
  }

  /** Owners and secret keys remove anyone; any member may remove itself (leave). */
  async removeMember(caller: ChatCaller, id: string, userId: string): Promise<void> {
    const leaving = caller.kind === 'session' && caller.userId === userId
    await openConversation(this.store, caller, id, leaving ? 'read' : 'manage')
    const scope = scopeOf(caller)
    const removed = await this.uow.run(async (trx, emit) => {
      const gone = await this.store.removeMember(scope, id, userId, trx)
      if (gone) emit(domainEvent('member.removed', scope, id, { conversationId: id, userId }))
      return gone
    })
    if (!removed) throw new ApiError('not_found', `${userId} is not a member of this conversation`)
  }

  /** A deleted user leaves every conversation (its messages stay, attributed to its id). */
  async removeUserEverywhere(scope: ChatScope, userId: string): Promise<void> {
    const conversationIds = await this.store.conversationIdsOf(scope, userId)
    await this.uow.run(async (trx, emit) => {
      for (const id of conversationIds) {
        if (await this.store.removeMember(scope, id, userId, trx)) {
          emit(domainEvent('member.removed', scope, id, { conversationId: id, userId }))
        }
      }
    })
  }

  /**
   * The pair's existing direct conversation, with whichever of the two left (or was deleted and
   * created again) added back: a direct conversation always has both members.
   */
  private async reopenDirect(caller: ChatCaller, conversation: Conversation, pair: string[]) {
    const scope = scopeOf(caller)
    await this.uow.run(async (trx, emit) => {
      const present = new Set((await this.store.members(scope, conversation.id, trx)).map((m) => m.userId))
      const joinedAt = new Date().toISOString()
      const returning: Member[] = pair.filter((id) => !present.has(id)).map((userId) => ({ userId, role: 'member', joinedAt, lastReadSeq: 0 }))
      await this.store.addMembers({ ...scope, id: conversation.id }, returning, trx)
      for (const member of returning) emit(domainEvent('member.added', scope, conversation.id, { conversationId: conversation.id, ...member }))
    })
    return this.reader.detail(caller, conversation)
  }

  private async requireUsers(scope: ChatScope, ids: string[]): Promise<void> {
    const found = await this.users.existing(scope.tenantId, scope.environment, ids)
    const missing = ids.find((id) => !found.has(id))
    if (missing !== undefined) throw new ApiError('user_not_found', `No user ${missing} in this environment`)
  }
}

/**
 * A visitor (anyone holding the public `pk_`) starts conversations with itself alone, under an id
 * Parley picks; the tenant adds its agents with a secret key (API.md §12). Naming anyone else is
 * refused before any user is looked up, so the answer is the same whether that user exists, and
 * a visitor cannot claim an id the tenant's backend may later want.
 */
function refuseVisitorChoices(caller: ChatCaller, input: CreateConversationInput): void {
  if (caller.kind !== 'session' || caller.userKind !== 'visitor') return
  if (input.id !== undefined) throw new ApiError('forbidden', 'Visitors cannot choose a conversation id')
  if (input.members.some((userId) => userId !== caller.userId)) {
    throw new ApiError('forbidden', 'Visitors may only create conversations with themselves as the only member')
  }
}
