/** /v1/conversations/{id}/messages and read state (API.md §5.2, §5.3). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { ConversationId, ConversationParams } from '../conversations/schemas.js'
import { chatCaller } from '../http/caller-of.js'
import { sendPrerendered } from '../http/prerendered.js'
import { Metadata, Nullable, ref } from '../http/schemas.js'
import { EXTERNAL_ID_PATTERN } from '../core/ids.js'
import { ClientMessageId, MessageHistorySchema, MessageSchema, MessageText } from './schemas.js'
import type { MessageService } from './service.js'

const tags = ['Messages']
const callers = ['secret', 'session'] as const
const Message = ref(MessageSchema)
const MessageParams = Type.Object({ id: ConversationId, messageId: Type.String({ maxLength: 64 }) })
const Seq = Type.Integer({ minimum: 0 })

export const messageRoutes: FastifyPluginAsyncTypebox<{ messages: MessageService }> = async (app, { messages }) => {
  app.post(
    '/v1/conversations/:id/messages',
    {
      config: { auth: { callers, scope: 'messages:write' } },
      schema: {
        tags,
        operationId: 'conversations.messages.send',
        summary: 'Send a message (a retried clientMessageId returns the original with 200)',
        params: ConversationParams,
        body: Type.Object(
          {
            text: MessageText,
            metadata: Type.Optional(Nullable(Metadata)),
            clientMessageId: Type.Optional(ClientMessageId),
            senderId: Type.Optional(Type.String({ pattern: EXTERNAL_ID_PATTERN })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Message, 201: Message },
      },
    },
    async (request, reply) => {
      const { created, message } = await messages.send(chatCaller(request), request.params.id, request.body)
      return reply.status(created ? 201 : 200).send(message)
    },
  )

  app.get(
    '/v1/conversations/:id/messages',
    {
      config: { auth: { callers, scope: 'messages:read' } },
      schema: {
        tags,
        operationId: 'conversations.messages.list',
        summary: 'History in ascending seq: the latest page, or the page before/after a seq',
        params: ConversationParams,
        querystring: Type.Object(
          { before: Type.Optional(Seq), after: Type.Optional(Seq), limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) },
          { additionalProperties: false },
        ),
        response: { 200: ref(MessageHistorySchema) },
      },
    },
    async (request, reply) => {
      return sendPrerendered(reply, await messages.history(chatCaller(request), request.params.id, request.query))
    },
  )

  app.patch(
    '/v1/conversations/:id/messages/:messageId',
    {
      config: { auth: { callers, scope: 'messages:write' } },
      schema: {
        tags,
        operationId: 'conversations.messages.edit',
        summary: 'Edit a message (its sender or a secret key)',
        params: MessageParams,
        body: Type.Object({ text: MessageText }, { additionalProperties: false }),
        response: { 200: Message },
        errorCodes: ['conflict'],
      },
    },
    async (request) => messages.edit(chatCaller(request), request.params.id, request.params.messageId, request.body.text),
  )

  app.delete(
    '/v1/conversations/:id/messages/:messageId',
    {
      config: { auth: { callers, scope: 'messages:delete' } },
      schema: {
        tags,
        operationId: 'conversations.messages.delete',
        summary: 'Soft-delete a message (its sender, or a secret key with messages:delete)',
        params: MessageParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await messages.delete(chatCaller(request), request.params.id, request.params.messageId)
      return reply.status(204).send(null)
    },
  )

  app.post(
    '/v1/conversations/:id/read',
    {
      config: { auth: { callers, scope: 'messages:read' } },
      schema: {
        tags,
        operationId: 'conversations.markRead',
        summary: 'Move a member’s read position forward (secret keys name the member with userId)',
        params: ConversationParams,
        body: Type.Object({ seq: Seq, userId: Type.Optional(Type.String({ pattern: EXTERNAL_ID_PATTERN })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ conversationId: Type.String(), userId: Type.String(), lastReadSeq: Type.Integer(), unreadCount: Type.Integer() }),
        },
      },
    },
    async (request) => messages.markRead(chatCaller(request), request.params.id, request.body),
  )
}
