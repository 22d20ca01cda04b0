/** The domain events of conversations and their members (docs/events.md), with their data. */
import type { Member, conversationView } from './model.js'

/** A conversation as events carry it: its API fields, without members. */
export type ConversationView = ReturnType<typeof conversationView>

declare module '../events/envelope.js' {
  interface EventDataByType {
    /** The initial members join with it: no separate member.added for them. */
    'conversation.created': ConversationView & { members: Member[] }
    'conversation.updated': ConversationView
    /** The members at deletion; they get no member.removed. */
    'conversation.deleted': { id: string; memberIds: string[] }
    'member.added': { conversationId: string } & Member
    'member.removed': { conversationId: string; userId: string }
  }
}
