/** PUT/GET /v1/alerts (the rules) and GET /v1/alerts/events (what fired). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { secretCaller } from '../http/caller-of.js'
import { Page, PageQuery, Timestamp, named, ref } from '../http/schemas.js'
import { decodeCursor, pageOf } from '../lib/cursor.js'
import type { AlertEvaluator } from './evaluator.js'
import type { AlertStore } from './store.js'

const tags = ['Usage']
const Rules = named(
  'AlertRules',
  Type.Object(
  {
    trafficSpike: Type.Optional(
      Type.Object({ factor: Type.Number({ minimum: 1, maximum: 1000 }), minRequests: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    ),
    errorRate: Type.Optional(
      Type.Object({ percent: Type.Number({ exclusiveMinimum: 0, maximum: 100 }), minRequests: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    ),
    nearLimit: Type.Optional(Type.Object({ percent: Type.Number({ exclusiveMinimum: 0, maximum: 100 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
  ),
)
const AlertEventSchema = named('AlertEvent', Type.Object({
  id: Type.String(),
  keyId: Type.String(),
  rule: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Timestamp,
}))
const AlertEventPage = Page(AlertEventSchema)

export const alertRoutes: FastifyPluginAsyncTypebox<{ store: AlertStore; evaluator: AlertEvaluator }> = async (app, { store, evaluator }) => {
  app.get(
    '/v1/alerts',
    {
      config: { auth: { callers: ['secret'], scope: 'usage:read' } },
      schema: { tags, operationId: 'alerts.get', summary: 'The usage alert rules of this environment', response: { 200: ref(Rules) } },
    },
    async (request) => {
      const caller = secretCaller(request)
      return evaluator.rules(caller.tenant.id, caller.environment)
    },
  )

  app.put(
    '/v1/alerts',
    {
      config: { auth: { callers: ['secret'], scope: 'keys:write' } },
      schema: { tags, operationId: 'alerts.replace', summary: 'Replace the usage alert rules (omit a rule to turn it off)', body: Rules, response: { 200: ref(Rules) } },
    },
    async (request) => {
      const caller = secretCaller(request)
      await store.putRules(caller.tenant.id, caller.environment, request.body)
      evaluator.forgetRules(caller.tenant.id, caller.environment)
      return request.body
    },
  )

  app.get(
    '/v1/alerts/events',
    {
      config: { auth: { callers: ['secret'], scope: 'usage:read' } },
      schema: { tags, operationId: 'alerts.events.list', summary: 'Alerts that fired, newest first', querystring: PageQuery, response: { 200: AlertEventPage } },
    },
    async (request) => {
      const caller = secretCaller(request)
      const before = decodeCursor(request.query.cursor, 2) as [string, string] | null
      const rows = await store.events(caller.tenant.id, caller.environment, request.query.limit + 1, before)
      return pageOf(rows, request.query.limit, (e) => [e.createdAt, e.id])
    },
  )
}
