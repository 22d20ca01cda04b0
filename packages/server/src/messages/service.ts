/** Messages (API.md §5.2, §5.3): send with gap-free seq and idempotency, edit, delete, history, read. */
import { type ChatCaller, denyVisitors, openConversation, scopeOf } from '../conversations/access.js'
import type { ConversationStore } from '../conversations/store.js'
import { ApiError, invalidParam, notFound } from '../core/errors.js'
import { domainEvent } from '../events/outbox.js'
import type { UnitOfWork } from '../events/unit-of-work.js'
import type { MaybePromise } from '../lib/maybe-promise.js'
import { isUniqueViolation } from '../storage/database.js'
import type { HistoryQuery, HistoryReader } from './history-reader.js'
import type { Message } from './model.js'
import type { MessageWriter } from './writer.js'
import type { MessageStore } from './store.js'

export interface SendInput {
  text: string
  metadata?: Record<string, unknown> | null
  clientMessageId?: string
  senderId?: string
}

/** The per-user message budget (http/rate-limits.ts): throws 429 when the sender is over it. */
export interface MessageLimits {
  admitMessage(caller: ChatCaller): MaybePromise<void>
}

/** What a client that had seen a conversation up to some seq missed (see `replay`). */
export interface Missed {
  /** Messages at or below that seq (the 1,000 before it at most) edited or deleted since. */
  changed: Message[]
  /** Every message above that seq, in seq order, as it is now. */
  created: Message[]
}

export class MessageService {
  constructor(
    private readonly store: MessageStore,
    private readonly conversations: ConversationStore,
    private readonly uow: UnitOfWork,
    private readonly writer: MessageWriter,
    private readonly historyReader: HistoryReader,
    private readonly limits: MessageLimits,
  ) {}

  /**
   * 201 with the new message, or 200 with the original for a retried clientMessageId. Every send
   * (REST or socket) first spends the sender's message budget. The conversation and the sender's
   * membership are checked by the writer, inside the transaction that stores the message (one
   * query per conversation per batch, and no window between the check and the insert).
   */
  async send(caller: ChatCaller, conversationId: string, input: SendInput): Promise<{ created: boolean; message: Message }> {
    // Awaited only when the limiter is remote: the in-memory decision costs no promise.
    const admitted = this.limits.admitMessage(caller)
    if (admitted instanceof Promise) await admitted
    const scope = scopeOf(caller)
    const { senderId, notMember } = await this.senderOf(caller, conversationId, input.senderId)
    const clientMessageId = input.clientMessageId ?? null
    try {
      return await this.writer.write({ scope, conversationId, senderId, notMember, text: input.text, metadata: input.metadata ?? null, clientMessageId })
    } catch (error) {
      // A duplicate committed by another node between our check and our insert: it is a retry.
      if (clientMessageId !== null && isUniqueViolation(error)) {
        const original = await this.store.findByClientId(scope, conversationId, senderId, clientMessageId)
        if (original) return { created: false, message: original }
      }
      throw error
    }
  }

  /**
   * A history page as the JSON body of the response, after the caller's access is checked. The
   * conversation's version (creation time and history revision, read by that same check) decides
   * whether a cached page is still exact (history-reader.ts, history-cache.ts).
   */
  async history(caller: ChatCaller, conversationId: string, query: HistoryQuery): Promise<string> {
    const { conversation } = await openConversation(this.conversations, caller, conversationId, 'read')
    if (query.before !== undefined && query.after !== undefined) {
      throw invalidParam('before', 'use either before or after, not both')
    }
    const version = `${conversation.createdAt}\u0000${conversation.historyRevision}`
    return this.historyReader.body(scopeOf(caller), conversationId, query, version)
  }

  /**
   * What a member that had seen up to `afterSeq` missed, read from storage after checking in
   * storage that the caller is a member now (404/403 otherwise): a socket's own idea of its
   * subscriptions may be stale. 'too_many' when more than `max` messages are above `afterSeq`.
   */
  async replay(caller: ChatCaller, conversationId: string, afterSeq: number, max: number): Promise<Missed | 'too_many'> {
    await openConversation(this.conversations, caller, conversationId, 'read')
    const scope = scopeOf(caller)
    const created = await this.store.after(scope, conversationId, afterSeq, max + 1)
    if (created.length > max) return 'too_many'
    // Edits and deletions of messages the client had already seen are found by their timestamps.
    const changed = afterSeq > 0 ? await this.store.changedSince(scope, conversationId, afterSeq) : []
    return { changed, created }
  }

  async edit(caller: ChatCaller, conversationId: string, messageId: string, text: string): Promise<Message> {
    const message = await this.ownMessage(caller, conversationId, messageId, 'edit messages')
    if (message.deletedAt !== null) throw new ApiError('conflict', 'A deleted message cannot be edited')
    const scope = scopeOf(caller)
    const edited: Message = { ...message, text, editedAt: new Date().toISOString() }
    await this.uow.run(async (trx, emit, redact) => {
      await this.store.update(scope, message, { text, editedAt: edited.editedAt! }, trx)
      // Stored events keep no text a message no longer has (API.md §12).
      await redact.message(scope, message.id)
      emit(domainEvent('message.updated', scope, conversationId, { ...edited }))
    })
    return edited
  }

  /** Soft delete: the message keeps its seq in history with empty text and no metadata. */
  async delete(caller: ChatCaller, conversationId: string, messageId: string): Promise<void> {
    const message = await this.ownMessage(caller, conversationId, messageId, 'delete messages')
    if (message.deletedAt !== null) return
    const scope = scopeOf(caller)
    const deleted: Message = { ...message, text: '', metadata: null, deletedAt: new Date().toISOString() }
    await this.uow.run(async (trx, emit, redact) => {
      await this.store.update(scope, message, { text: '', metadata: null, deletedAt: deleted.deletedAt! }, trx)
      await redact.message(scope, message.id)
      emit(domainEvent('message.deleted', scope, conversationId, { ...deleted }))
    })
  }

  /** Moves a member's read position forward (never back), capped at the conversation's last seq. */
  async markRead(caller: ChatCaller, conversationId: string, input: { seq: number; userId?: string }) {
    const { conversation } = await openConversation(this.conversations, caller, conversationId, 'read')
    const scope = scopeOf(caller)
    const userId = await this.readerOf(caller, conversationId, input.userId)
    const seq = Math.min(input.seq, conversation.lastSeq)
    await this.uow.run(async (trx, emit) => {
      if (await this.conversations.advanceRead(scope, conversationId, userId, seq, trx)) {
        emit(domainEvent('read.updated', scope, conversationId, { conversationId, userId, lastReadSeq: seq }))
      }
    })
    const member = await this.conversations.member(scope, conversationId, userId)
    const unread = await this.conversations.unreadCounts(scope, userId, [conversationId])
    return { conversationId, userId, lastReadSeq: member?.lastReadSeq ?? seq, unreadCount: unread.get(conversationId) ?? 0 }
  }

  /**
   * Who sends, and the error if the writer finds that sender is not a member: session callers
   * always send as themselves (403 when not a member); secret keys name a member (400 otherwise).
   */
  private async senderOf(caller: ChatCaller, conversationId: string, senderId: string | undefined) {
    if (caller.kind === 'session') {
      if (senderId !== undefined && senderId !== caller.userId) {
        await openConversation(this.conversations, caller, conversationId, 'read') // 404 and 403 before 400
        throw invalidParam('senderId', 'only secret keys may send on behalf of another user')
      }
      return { senderId: caller.userId, notMember: () => new ApiError('forbidden', 'You are not a member of this conversation') }
    }
    if (senderId === undefined) {
      await openConversation(this.conversations, caller, conversationId, 'read') // 404 before 400
      throw invalidParam('senderId', 'is required when sending with a secret key')
    }
    return { senderId, notMember: () => invalidParam('senderId', 'must be a member of the conversation') }
  }

  private async readerOf(caller: ChatCaller, conversationId: string, userId: string | undefined): Promise<string> {
    if (caller.kind === 'session') {
      if (userId !== undefined && userId !== caller.userId) throw new ApiError('forbidden', 'You can only move your own read position')
      return caller.userId
    }
    if (userId === undefined) throw invalidParam('userId', 'is required with a secret key')
    if (!(await this.conversations.member(scopeOf(caller), conversationId, userId))) {
      throw invalidParam('userId', 'must be a member of the conversation')
    }
    return userId
  }

  /** The message, if the caller may change it: its sender, or a secret key. */
  private async ownMessage(caller: ChatCaller, conversationId: string, messageId: string, what: string): Promise<Message> {
    denyVisitors(caller, what)
    await openConversation(this.conversations, caller, conversationId, 'read')
    const message = await this.store.find(scopeOf(caller), conversationId, messageId)
    if (!message) throw notFound('Message')
    if (caller.kind === 'session' && message.senderId !== caller.userId) {
      throw new ApiError('forbidden', 'Only the sender (or a secret key) can change this message')
    }
    return message
  }
}
