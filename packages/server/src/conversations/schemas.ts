import { Type } from '@fastify/type-provider-typebox'
import { EXTERNAL_ID_PATTERN } from '../core/ids.js'
import { Metadata, Nullable, Page, Timestamp, named, ref } from '../http/schemas.js'
import { MAX_MEMBERS } from './model.js'

export const ConversationId = Type.String({ pattern: EXTERNAL_ID_PATTERN })
export const ConversationParams = Type.Object({ id: ConversationId })

export const MemberSchema = named('Member', Type.Object({
  userId: Type.String(),
  role: Type.Union([Type.Literal('owner'), Type.Literal('member')]),
  joinedAt: Timestamp,
  lastReadSeq: Type.Integer(),
}))

const ConversationFields = {
  id: Type.String(),
  type: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
  name: Nullable(Type.String()),
  metadata: Nullable(Metadata),
  lastSeq: Type.Integer(),
  // The message's own schema is registered by the messages module (`Message`); a reference keeps
  // conversations from depending on messages.
  lastMessage: Nullable(Type.Ref('Message')),
  unreadCount: Type.Optional(Type.Integer()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastActivityAt: Timestamp,
}

export const ConversationSummarySchema = named('ConversationSummary', Type.Object(ConversationFields))
export const ConversationSchema = named('Conversation', Type.Object({ ...ConversationFields, members: Type.Array(ref(MemberSchema)) }))
export const ConversationSummaryPage = Page(ConversationSummarySchema)

export const MemberIds = Type.Array(Type.String({ pattern: EXTERNAL_ID_PATTERN }), { maxItems: MAX_MEMBERS })
export const ConversationName = Type.String({ maxLength: 200 })
