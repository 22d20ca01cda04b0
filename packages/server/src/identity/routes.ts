/** Visitor sessions and the session-token caller's own identity (API.md §4.3). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { EXTERNAL_ID_PATTERN } from '../ids.js'
import { sessionCaller, tenantCaller } from '../http/caller-of.js'
import { Nullable, Timestamp, authErrors } from '../http/schemas.js'
import { UserSchema } from '../users/schemas.js'
import type { IdentityService } from './service.js'

const tags = ['Visitors and identity']
const VisitorSchema = Type.Composite([UserSchema, Type.Object({ visitorId: Nullable(Type.String()), email: Nullable(Type.String()) })])
// One schema for users and visitors (visitor fields optional): a union would cost the response
// serialiser a validation per response on this hot route.
const IdentitySchema = Type.Composite([
  UserSchema,
  Type.Object({ visitorId: Type.Optional(Nullable(Type.String())), email: Type.Optional(Nullable(Type.String())) }),
])
const SessionResponse = Type.Object({ sessionToken: Type.String(), expiresAt: Timestamp })

export const identityRoutes: FastifyPluginAsyncTypebox<{ identity: IdentityService }> = async (app, { identity }) => {
  app.post(
    '/v1/identity/init',
    {
      config: { auth: { callers: ['publishable'] } },
      schema: {
        tags,
        summary: 'Open a visitor session with a publishable key (in x-api-key or the apiKey field)',
        body: Type.Object(
          {
            apiKey: Type.Optional(Type.String({ maxLength: 128 })),
            visitorId: Type.Optional(Type.String({ pattern: EXTERNAL_ID_PATTERN })),
            profile: Type.Optional(
              Type.Object(
                { name: Type.Optional(Type.String({ maxLength: 256 })), email: Type.Optional(Type.String({ maxLength: 320, format: 'email' })) },
                { additionalProperties: false },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Composite([SessionResponse, Type.Object({ visitor: VisitorSchema })]), ...authErrors },
      },
    },
    async (request, reply) => {
      const caller = tenantCaller(request)
      if (caller.kind !== 'publishable') throw new Error('unreachable: policy admits publishable keys only')
      return reply.status(201).send(await identity.init(caller, request.body ?? {}))
    },
  )

  app.post(
    '/v1/identity/refresh',
    {
      config: { auth: { callers: ['session'] } },
      schema: { tags, summary: 'Exchange a still-valid visitor token for a fresh one', response: { 200: SessionResponse, ...authErrors } },
    },
    async (request) => identity.refresh(sessionCaller(request)),
  )

  app.get(
    '/v1/identity/me',
    {
      config: { auth: { callers: ['session'] } },
      schema: {
        tags,
        summary: 'The user or visitor behind a session token',
        response: {
          200: Type.Object({
            user: IdentitySchema,
            tenant: Type.Object({ id: Type.String(), name: Type.String() }),
            expiresAt: Timestamp,
          }),
          ...authErrors,
        },
      },
    },
    async (request) => identity.me(sessionCaller(request)),
  )

  app.get(
    '/v1/tenant',
    {
      config: { auth: { callers: ['publishable'] } },
      schema: { tags, summary: 'Public fields of the publishable key’s tenant', response: { 200: Type.Object({ id: Type.String(), name: Type.String() }), ...authErrors } },
    },
    async (request) => {
      const { tenant } = tenantCaller(request)
      return { id: tenant.id, name: tenant.name }
    },
  )
}
