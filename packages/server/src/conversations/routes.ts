/** /v1/conversations and /v1/me/unread (API.md §5.1). Secret keys act for the tenant; session tokens for their user. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { chatCaller, sessionCaller } from '../http/caller-of.js'
import { EXTERNAL_ID_PATTERN } from '../core/ids.js'
import { Metadata, Nullable, ref } from '../http/schemas.js'
import type { ConversationReader } from './reader.js'
import { ConversationId, ConversationName, ConversationParams, ConversationSchema, ConversationSummaryPage, MemberIds } from './schemas.js'
import type { ConversationService } from './service.js'

const read = { auth: { callers: ['secret', 'session'], scope: 'conversations:read' } } as const
const write = { auth: { callers: ['secret', 'session'], scope: 'conversations:write' } } as const
const tags = ['Conversations']
const Conversation = ref(ConversationSchema)

export const conversationRoutes: FastifyPluginAsyncTypebox<{ conversations: ConversationService; reader: ConversationReader }> = async (
  app,
  { conversations, reader },
) => {
  app.post(
    '/v1/conversations',
    {
      config: write,
      schema: {
        tags,
        operationId: 'conversations.create',
        summary: 'Create a conversation (an existing direct conversation of the same pair is returned with 200)',
        body: Type.Object(
          {
            id: Type.Optional(ConversationId),
            type: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
            name: Type.Optional(Nullable(ConversationName)),
            members: MemberIds,
            metadata: Type.Optional(Nullable(Metadata)),
          },
          { additionalProperties: false },
        ),
        response: { 200: Conversation, 201: Conversation },
        errorCodes: ['user_not_found', 'conflict'],
      },
    },
    async (request, reply) => {
      const { created, conversation } = await conversations.create(chatCaller(request), request.body)
      return reply.status(created ? 201 : 200).send(conversation)
    },
  )

  app.get(
    '/v1/conversations',
    {
      config: read,
      schema: {
        tags,
        operationId: 'conversations.list',
        summary: 'List conversations by last activity, newest first',
        querystring: Type.Object(
          {
            userId: Type.Optional(Type.String({ pattern: EXTERNAL_ID_PATTERN })),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
            cursor: Type.Optional(Type.String({ maxLength: 512 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ConversationSummaryPage },
      },
    },
    async (request) => reader.list(chatCaller(request), request.query),
  )

  app.get(
    '/v1/conversations/:id',
    {
      config: read,
      schema: { tags, operationId: 'conversations.get', summary: 'Get a conversation with its members', params: ConversationParams, response: { 200: Conversation } },
    },
    async (request) => reader.get(chatCaller(request), request.params.id),
  )

  app.patch(
    '/v1/conversations/:id',
    {
      config: write,
      schema: {
        tags,
        operationId: 'conversations.update',
        summary: 'Rename a conversation or change its metadata (owners and secret keys)',
        params: ConversationParams,
        body: Type.Object(
          { name: Type.Optional(Nullable(ConversationName)), metadata: Type.Optional(Nullable(Metadata)) },
          { additionalProperties: false },
        ),
        response: { 200: Conversation },
      },
    },
    async (request) => conversations.patch(chatCaller(request), request.params.id, request.body),
  )

  app.delete(
    '/v1/conversations/:id',
    {
      config: write,
      schema: { tags, operationId: 'conversations.delete', summary: 'Delete a conversation and its messages', params: ConversationParams, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      await conversations.delete(chatCaller(request), request.params.id)
      return reply.status(204).send(null)
    },
  )

  app.post(
    '/v1/conversations/:id/members',
    {
      config: write,
      schema: {
        tags,
        operationId: 'conversations.addMembers',
        summary: 'Add members to a group conversation',
        params: ConversationParams,
        body: Type.Object({ userIds: Type.Array(Type.String({ pattern: EXTERNAL_ID_PATTERN }), { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
        response: { 200: Conversation },
        errorCodes: ['user_not_found'],
      },
    },
    async (request) => conversations.addMembers(chatCaller(request), request.params.id, request.body.userIds),
  )

  app.delete(
    '/v1/conversations/:id/members/:userId',
    {
      config: write,
      schema: {
        tags,
        operationId: 'conversations.removeMember',
        summary: 'Remove a member (any member may remove itself)',
        params: Type.Object({ id: ConversationId, userId: Type.String({ pattern: EXTERNAL_ID_PATTERN }) }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await conversations.removeMember(chatCaller(request), request.params.id, request.params.userId)
      return reply.status(204).send(null)
    },
  )

  app.get(
    '/v1/me/unread',
    {
      config: { auth: { callers: ['session'], scope: 'conversations:read' } },
      schema: {
        tags,
        operationId: 'me.unread',
        summary: 'Unread counts of the session user',
        response: {
          200: Type.Object({ total: Type.Integer(), conversations: Type.Array(Type.Object({ id: Type.String(), unreadCount: Type.Integer() })) }),
        },
      },
    },
    async (request) => reader.unreadSummary(sessionCaller(request)),
  )
}
