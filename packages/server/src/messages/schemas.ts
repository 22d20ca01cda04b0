import { Type } from '@fastify/type-provider-typebox'
import { Metadata, Nullable, Timestamp, named, ref } from '../http/schemas.js'
import { MAX_TEXT_LENGTH } from './model.js'

export const MessageSchema = named('Message', Type.Object({
  id: Type.String(),
  conversationId: Type.String(),
  seq: Type.Integer(),
  senderId: Type.String(),
  text: Type.String(),
  metadata: Nullable(Metadata),
  clientMessageId: Nullable(Type.String()),
  createdAt: Timestamp,
  editedAt: Nullable(Timestamp),
  deletedAt: Nullable(Timestamp),
}))

export const MessageHistorySchema = named(
  'MessageHistory',
  Type.Object({
    data: Type.Array(ref(MessageSchema), { description: 'In ascending seq' }),
    hasMore: Type.Boolean({ description: 'More messages exist in the direction read (older, or newer with after)' }),
  }),
)

export const MessageText = Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH })
export const ClientMessageId = Type.String({ minLength: 1, maxLength: 128 })
