/** Visitor sessions and the session-token caller's own identity (API.md §4.3). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { EXTERNAL_ID_PATTERN } from '../core/ids.js'
import { publishableCaller, sessionCaller } from '../http/caller-of.js'
import { Nullable, Timestamp, named, ref } from '../http/schemas.js'
import { UserSchema } from '../users/schemas.js'
import type { IdentityService } from './service.js'

const tags = ['Visitors and identity']
const VisitorSchema = named('Visitor', Type.Composite([UserSchema, Type.Object({ visitorId: Nullable(Type.String()), email: Nullable(Type.String()) })]))
// One schema for users and visitors (visitor fields optional): a union would cost the response
// serialiser a validation per response on this hot route.
const IdentitySchema = named('SessionUser', Type.Composite([
  UserSchema,
  Type.Object({ visitorId: Type.Optional(Nullable(Type.String())), email: Type.Optional(Nullable(Type.String())) }),
]))
const SessionResponse = Type.Object({ sessionToken: Type.String(), expiresAt: Timestamp })

export const identityRoutes: FastifyPluginAsyncTypebox<{ identity: IdentityService }> = async (app, { identity }) => {
  app.post(
    '/v1/identity/init',
    {
      config: { auth: { callers: ['publishable'] } },
      schema: {
        tags,
        operationId: 'identity.init',
        summary: 'Open a visitor session with a publishable key (in x-api-key or the apiKey field)',
        description:
          'The same visitorId always opens the same visitor, so treat it as that visitor’s secret. `profile` applies to a new visitor ' +
          'only: for a known visitorId the stored profile is neither returned (the profile fields carry only what this call sent) nor changed.',
        body: Type.Object(
          {
            apiKey: Type.Optional(Type.String({ maxLength: 128, description: 'The publishable key (pk_…), when it is not sent in x-api-key' })),
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
        response: { 201: Type.Composite([SessionResponse, Type.Object({ visitor: ref(VisitorSchema) })]) },
      },
    },
    async (request, reply) => reply.status(201).send(await identity.init(publishableCaller(request), request.body ?? {})),
  )

  app.post(
    '/v1/identity/refresh',
    {
      config: { auth: { callers: ['session'] } },
      schema: { tags, operationId: 'identity.refresh', summary: 'Exchange a still-valid visitor token for a fresh one', response: { 200: SessionResponse } },
    },
    async (request) => identity.refresh(sessionCaller(request)),
  )

  app.get(
    '/v1/identity/me',
    {
      config: { auth: { callers: ['session'] } },
      schema: {
        tags,
        operationId: 'identity.me',
        summary: 'The user or visitor behind a session token',
        response: {
          200: Type.Object({
            user: ref(IdentitySchema),
            tenant: Type.Object({ id: Type.String(), name: Type.String() }),
            expiresAt: Timestamp,
          }),
        },
      },
    },
    async (request) => identity.me(sessionCaller(request)),
  )

  app.get(
    '/v1/tenant',
    {
      config: { auth: { callers: ['publishable'] } },
      schema: {
        tags,
        operationId: 'tenant.get',
        summary: 'Public fields of the publishable key’s tenant',
        response: { 200: Type.Object({ id: Type.String(), name: Type.String() }) },
      },
    },
    async (request) => identity.publicTenant(publishableCaller(request)),
  )
}
