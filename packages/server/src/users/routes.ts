/** /v1/users: the tenant's end users (secret key with users:read / users:write). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { secretCaller } from '../http/caller-of.js'
import { PageQuery, ref } from '../http/schemas.js'
import { UserFieldsSchema, UserId, UserPage, UserSchema } from './schemas.js'
import type { UserService } from './service.js'

const read = { auth: { callers: ['secret'], scope: 'users:read' } } as const
const write = { auth: { callers: ['secret'], scope: 'users:write' } } as const
const tags = ['Users']
const UserParams = Type.Object({ id: UserId })

export const userRoutes: FastifyPluginAsyncTypebox<{ users: UserService }> = async (app, { users }) => {
  app.post(
    '/v1/users',
    {
      config: write,
      schema: {
        tags,
        operationId: 'users.upsert',
        summary: 'Create or update a user by your own id (201 created, 200 updated)',
        body: Type.Object({ id: UserId, ...UserFieldsSchema }, { additionalProperties: false }),
        response: { 200: ref(UserSchema), 201: ref(UserSchema) },
      },
    },
    async (request, reply) => {
      const { created, user } = await users.upsert(secretCaller(request), request.body)
      return reply.status(created ? 201 : 200).send(user)
    },
  )

  app.get(
    '/v1/users',
    { config: read, schema: { tags, operationId: 'users.list', summary: 'List users (visitors included), newest first', querystring: PageQuery, response: { 200: UserPage } } },
    async (request) => users.list(secretCaller(request), request.query.limit, request.query.cursor),
  )

  app.get(
    '/v1/users/:id',
    { config: read, schema: { tags, operationId: 'users.get', summary: 'Get a user', params: UserParams, response: { 200: ref(UserSchema) } } },
    async (request) => users.get(secretCaller(request), request.params.id),
  )

  app.patch(
    '/v1/users/:id',
    {
      config: write,
      schema: {
        tags,
        operationId: 'users.update',
        summary: 'Edit a user (only the fields sent change)',
        params: UserParams,
        body: Type.Object(UserFieldsSchema, { additionalProperties: false }),
        response: { 200: ref(UserSchema) },
      },
    },
    async (request) => users.patch(secretCaller(request), request.params.id, request.body),
  )

  app.delete(
    '/v1/users/:id',
    {
      config: write,
      schema: {
        tags,
        operationId: 'users.delete',
        summary: 'Delete a user: its tokens are revoked and its sockets closed; its messages remain',
        params: UserParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await users.delete(secretCaller(request), request.params.id)
      return reply.status(204).send(null)
    },
  )

  app.post(
    '/v1/users/:id/revoke-tokens',
    {
      config: write,
      schema: {
        tags,
        operationId: 'users.revokeTokens',
        summary: 'Revoke every session token of this user minted until now',
        params: UserParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await users.revokeTokens(secretCaller(request), request.params.id)
      return reply.status(204).send(null)
    },
  )
}
