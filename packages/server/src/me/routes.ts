/** GET /v1/me: who am I? For any secret key, the admin acting on a tenant, or a session token. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import type { Caller } from '../auth/caller.js'
import { Nullable, authErrors } from '../http/schemas.js'

const TenantSummary = Type.Object({ id: Type.String(), name: Type.String(), plan: Type.String() })
const MeSchema = Type.Object({
  tenant: TenantSummary,
  environment: Type.Union([Type.Literal('live'), Type.Literal('test')]),
  key: Type.Optional(Type.Object({ id: Type.String(), type: Type.String(), scopes: Type.Array(Type.String()) })),
  user: Type.Optional(Type.Object({ id: Type.String(), kind: Type.String(), scopes: Nullable(Type.Array(Type.String())) })),
})

export const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/me',
    {
      config: { auth: { callers: ['secret', 'session'] } },
      schema: { tags: ['Account'], summary: 'The tenant, environment and credential of the caller', response: { 200: MeSchema, ...authErrors } },
    },
    async (request) => describe(request.caller!),
  )
}

function describe(caller: Caller) {
  if (caller.kind !== 'secret' && caller.kind !== 'session') throw new Error('unreachable: policy admits secret and session')
  const tenant = { id: caller.tenant.id, name: caller.tenant.name, plan: caller.tenant.plan }
  if (caller.kind === 'session') {
    return { tenant, environment: caller.environment, user: { id: caller.userId, kind: caller.userKind, scopes: caller.scopes.length ? caller.scopes : null } }
  }
  const key = caller.key
    ? { id: caller.key.id, type: caller.key.type, scopes: caller.key.scopes }
    : { id: 'admin', type: 'admin', scopes: [] as string[] }
  return { tenant, environment: caller.environment, key }
}
