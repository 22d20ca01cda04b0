/**
 * Forgetting content in stored events (API.md §12): editing or deleting a message, or deleting a
 * conversation or a user, removes the old text, names and metadata from every stored event that
 * still holds them, in the transaction of the change. A row's content is set to NULL (its `data` keeps the
 * placeholders, content.ts) and its `content_id` too, so it drops out of the index and is never
 * visited again.
 *
 * Rows are found through `events_by_content` (tenant, environment, content id; only rows that
 * still hold content), never by scanning the table. A deleted conversation's messages are found
 * through the messages table by conversation, before the change deletes them.
 */
import type { Kysely } from 'kysely'
import type { Environment } from '../core/environment.js'
import type { Database } from '../storage/schema.js'
import { type ContentOwner, contentTypesOf } from './content.js'

export interface EventScope {
  tenantId: string
  environment: Environment
}

/** What a unit of work may forget, in its own transaction. */
export interface Redact {
  /** The text and metadata of one message. */
  message(scope: EventScope, messageId: string): Promise<void>
  /** A conversation's name and metadata, and the text and metadata of each of its messages. */
  conversation(scope: EventScope, conversationId: string): Promise<void>
  /** A deleted user's names, avatar and metadata (user.* events). */
  user(scope: EventScope, userId: string): Promise<void>
}

const TYPES: Record<ContentOwner, string[]> = {
  message: contentTypesOf('message'),
  conversation: contentTypesOf('conversation'),
  user: contentTypesOf('user'),
}

function forget(db: Kysely<Database>, scope: EventScope, owner: ContentOwner) {
  return db
    .updateTable('events')
    .set({ content: null, content_id: null })
    .where('tenant_id', '=', scope.tenantId)
    .where('environment', '=', scope.environment)
    .where('type', 'in', TYPES[owner])
}

/** Forgets the content of the message `messageId` (exported for the query-plan test). */
export const forgetMessage = (db: Kysely<Database>, scope: EventScope, messageId: string) =>
  forget(db, scope, 'message').where('content_id', '=', messageId)

/** Forgets the content of the messages of a conversation, still in the messages table. */
export const forgetMessagesOf = (db: Kysely<Database>, scope: EventScope, conversationId: string) =>
  forget(db, scope, 'message').where('content_id', 'in', (eb) =>
    eb
      .selectFrom('messages')
      .select('id')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId),
  )

/** Forgets the name and metadata of a conversation. */
export const forgetConversation = (db: Kysely<Database>, scope: EventScope, conversationId: string) =>
  forget(db, scope, 'conversation').where('content_id', '=', conversationId)

/** Forgets what the user.* events of a user say about it. */
export const forgetUser = (db: Kysely<Database>, scope: EventScope, userId: string) => forget(db, scope, 'user').where('content_id', '=', userId)

/** The redactions of one transaction. */
export function redactIn(trx: Kysely<Database>): Redact {
  return {
    async message(scope, messageId) {
      await forgetMessage(trx, scope, messageId).execute()
    },
    async conversation(scope, conversationId) {
      await forgetMessagesOf(trx, scope, conversationId).execute()
      await forgetConversation(trx, scope, conversationId).execute()
    },
    async user(scope, userId) {
      await forgetUser(trx, scope, userId).execute()
    },
  }
}
