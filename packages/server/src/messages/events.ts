/** The domain events of messages and read positions (docs/events.md), with their data. */
import type { Message } from './model.js'

declare module '../events/envelope.js' {
  interface EventDataByType {
    'message.created': Message
    /** The message after the edit. */
    'message.updated': Message
    /** The message after deletion: text '' and metadata null. */
    'message.deleted': Message
    'read.updated': { conversationId: string; userId: string; lastReadSeq: number }
  }
}
