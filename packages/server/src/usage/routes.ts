/** GET /v1/keys/{id}/usage and GET /v1/usage (secret key with usage:read). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { secretCaller } from '../http/caller-of.js'
import { IdParams, Nullable, Timestamp, named, ref } from '../http/schemas.js'
import type { UsageService } from './service.js'

const policy = { auth: { callers: ['secret'], scope: 'usage:read' } } as const
const tags = ['Usage']

const Counts = {
  requests: Type.Integer(),
  success: Type.Integer(),
  clientErrors: Type.Integer(),
  serverErrors: Type.Integer(),
  rateLimited: Type.Integer(),
}
const Totals = named('UsageTotals', Type.Object({ ...Counts, avgLatencyMs: Type.Number() }))
const Point = named('UsagePoint', Type.Object({ t: Timestamp, ...Counts, avgLatencyMs: Type.Number() }))
const Window = {
  granularity: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
  from: Timestamp,
  to: Timestamp,
}
const UsageQuery = Type.Object(
  {
    granularity: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')])),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
)

export const usageRoutes: FastifyPluginAsyncTypebox<{ usage: UsageService }> = async (app, { usage }) => {
  app.get(
    '/v1/keys/:id/usage',
    {
      config: policy,
      schema: {
        tags,
        operationId: 'keys.usage',
        summary: 'Requests, outcomes and latency of one key, by hour or day',
        params: IdParams,
        querystring: UsageQuery,
        response: {
          200: Type.Object({ ...Window, series: Type.Array(ref(Point)), totals: ref(Totals), lastUsedAt: Nullable(Timestamp) }),
        },
      },
    },
    async (request) => usage.forKey(secretCaller(request), request.params.id, request.query),
  )

  app.get(
    '/v1/usage',
    {
      config: policy,
      schema: {
        tags,
        operationId: 'usage.get',
        summary: 'Usage summed over the environment’s keys, with per-key totals',
        querystring: UsageQuery,
        response: {
          200: Type.Object({ ...Window, series: Type.Array(ref(Point)), totals: ref(Totals), keys: Type.Array(Type.Object({ keyId: Type.String(), ...Counts })) }),
        },
      },
    },
    async (request) => usage.forTenant(secretCaller(request), request.query),
  )
}
