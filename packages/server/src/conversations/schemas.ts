import { Type } from '@fastify/type-provider-typebox'
import { EXTERNAL_ID_PATTERN } from '../ids.js'
import { Metadata, Nullable, Timestamp } from '../http/schemas.js'
import { MessageSchema } from '../messages/schemas.js'
import { MAX_MEMBERS } from './model.js'

export const ConversationId = Type.String({ pattern: EXTERNAL_ID_PATTERN })
export const ConversationParams = Type.Object({ id: ConversationId })

export const MemberSchema = Type.Object({
  userId: Type.String(),
  role: Type.Union([Type.Literal('owner'), Type.Literal('member')]),
  joinedAt: Timestamp,
  lastReadSeq: Type.Integer(),
})

const ConversationFields = {
  id: Type.String(),
  type: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
  name: Nullable(Type.String()),
  metadata: Nullable(Metadata),
  lastSeq: Type.Integer(),
  lastMessage: Nullable(MessageSchema),
  unreadCount: Type.Optional(Type.Integer()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastActivityAt: Timestamp,
}

export const ConversationSummarySchema = Type.Object(ConversationFields)
export const ConversationSchema = Type.Object({ ...ConversationFields, members: Type.Array(MemberSchema) })

export const MemberIds = Type.Array(Type.String({ pattern: EXTERNAL_ID_PATTERN }), { maxItems: MAX_MEMBERS })
export const ConversationName = Type.String({ maxLength: 200 })
