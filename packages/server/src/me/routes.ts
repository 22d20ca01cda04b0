/** GET /v1/me: who am I? For any secret key, the admin acting on a tenant, or a session token. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { chatCaller } from '../http/caller-of.js'
import { Nullable, named, ref } from '../http/schemas.js'
import { describeCaller } from './service.js'

const TenantSummary = Type.Object({ id: Type.String(), name: Type.String(), plan: Type.String() })
const MeSchema = named('Me', Type.Object({
  tenant: TenantSummary,
  environment: Type.Union([Type.Literal('live'), Type.Literal('test')]),
  key: Type.Optional(Type.Object({ id: Type.String(), type: Type.String(), scopes: Type.Array(Type.String()) })),
  user: Type.Optional(Type.Object({ id: Type.String(), kind: Type.String(), scopes: Nullable(Type.Array(Type.String())) })),
}))

export const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/me',
    {
      config: { auth: { callers: ['secret', 'session'] } },
      schema: { tags: ['Account'], operationId: 'me.get', summary: 'The tenant, environment and credential of the caller', response: { 200: ref(MeSchema) } },
    },
    async (request) => describeCaller(chatCaller(request)),
  )
}
