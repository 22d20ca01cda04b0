import { Type } from '@fastify/type-provider-typebox'
import { Metadata, Nullable, Timestamp } from '../http/schemas.js'
import { MAX_TEXT_LENGTH } from './model.js'

export const MessageSchema = Type.Object({
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
})

export const MessageText = Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH })
export const ClientMessageId = Type.String({ minLength: 1, maxLength: 128 })
