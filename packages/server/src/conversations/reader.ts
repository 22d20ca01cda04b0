/**
 * Read views of conversations: the detail of one (members, last message, unread count) and lists
 * ordered by last activity, built with a fixed number of queries per page (no N+1).
 */
import type { SessionCaller } from '../core/caller.js'
import { ApiError } from '../core/errors.js'
import { decodeCursor, pageOf } from '../lib/cursor.js'
import { type ChatCaller, openConversation, scopeOf } from './access.js'
import { type ChatScope, type Conversation, conversationView } from './model.js'
import type { ConversationStore } from './store.js'

/** The last message of each conversation (the message store; passed in by app.ts). */
export interface LastMessages {
  lastMessages(scope: ChatScope, conversations: { id: string; lastSeq: number }[]): Promise<Map<string, unknown>>
}

export class ConversationReader {
  constructor(
    private readonly store: ConversationStore,
    private readonly messages: LastMessages,
  ) {}

  async get(caller: ChatCaller, id: string) {
    const { conversation } = await openConversation(this.store, caller, id, 'read')
    return this.detail(caller, conversation, false)
  }

  /**
   * One conversation with its members, last message and (for a session caller) unread count.
   * `reload` reads it again first, for callers that just changed it.
   */
  async detail(caller: ChatCaller, conversation: Conversation, reload = true) {
    const scope = scopeOf(caller)
    const current = reload ? ((await this.store.find(scope, conversation.id)) ?? conversation) : conversation
    const [members, last] = await Promise.all([
      this.store.members(scope, current.id),
      this.messages.lastMessages(scope, [current]),
    ])
    const view = { ...conversationView(current), members, lastMessage: last.get(current.id) ?? null }
    if (caller.kind !== 'session') return view
    const unread = await this.store.unreadCounts(scope, caller.userId, [current.id])
    return { ...view, unreadCount: unread.get(current.id) ?? 0 }
  }

  /** A session caller sees its own conversations; a secret key all, or one user's with `userId`. */
  async list(caller: ChatCaller, query: { userId?: string; limit: number; cursor?: string }) {
    if (caller.kind === 'session' && query.userId !== undefined && query.userId !== caller.userId) {
      throw new ApiError('forbidden', 'Session tokens list only their own conversations')
    }
    const scope = scopeOf(caller)
    const userId = caller.kind === 'session' ? caller.userId : (query.userId ?? null)
    const after = decodeCursor(query.cursor, 2) as [string, string] | null
    const rows = await this.store.list(scope, userId, query.limit + 1, after)
    const page = pageOf(rows, query.limit, (c) => [c.lastActivityAt, c.id])
    const [last, unread] = await Promise.all([
      this.messages.lastMessages(scope, page.data),
      userId === null ? Promise.resolve(null) : this.store.unreadCounts(scope, userId, page.data.map((c) => c.id)),
    ])
    const data = page.data.map((c) => ({
      ...conversationView(c),
      lastMessage: last.get(c.id) ?? null,
      ...(unread && { unreadCount: unread.get(c.id) ?? 0 }),
    }))
    return { data, nextCursor: page.nextCursor }
  }

  /** GET /v1/me/unread: every conversation with unread messages, and their total. */
  async unreadSummary(caller: SessionCaller) {
    const counts = await this.store.unreadCounts(scopeOf(caller), caller.userId, null)
    const conversations = [...counts].filter(([, n]) => n > 0).map(([id, unreadCount]) => ({ id, unreadCount }))
    return { total: conversations.reduce((sum, c) => sum + c.unreadCount, 0), conversations }
  }
}
