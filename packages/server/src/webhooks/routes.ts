/** /v1/webhooks: a tenant's webhook endpoints and delivery log, with a secret key (webhooks:read / webhooks:write). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { secretCaller } from '../http/caller-of.js'
import { IdParams, PageQuery, Timestamp, ref } from '../http/schemas.js'
import { DeliveryListQuery, DeliveryPage, DeliverySchema, EndpointBody, EndpointPage, EndpointPatchBody, EndpointSchema, EndpointWithSecret, EventTypeList } from './schemas.js'
import { DEFAULT_OVERLAP_SECONDS, type WebhookService } from './service.js'

const read = { auth: { callers: ['secret'], scope: 'webhooks:read' } } as const
const write = { auth: { callers: ['secret'], scope: 'webhooks:write' } } as const
const tags = ['Webhooks']
/** Refused while the endpoint is disabled. */
const conflict = ['conflict'] as const
const DeliveryParams = Type.Object({ id: Type.String({ maxLength: 128 }), deliveryId: Type.String({ maxLength: 128 }) })

export const webhookRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhookService }> = async (app, { webhooks }) => {
  app.get(
    '/v1/webhooks/event-types',
    { config: read, schema: { tags, operationId: 'webhooks.eventTypes', summary: 'The event types an endpoint can subscribe to', response: { 200: ref(EventTypeList) } } },
    async () => webhooks.eventTypes(),
  )

  app.post(
    '/v1/webhooks',
    {
      config: write,
      schema: {
        tags,
        operationId: 'webhooks.create',
        summary: 'Register an endpoint (its signing secret is returned once)',
        body: EndpointBody,
        response: { 201: ref(EndpointWithSecret) },
        errorCodes: ['plan_limit_reached'],
      },
    },
    async (request, reply) => reply.status(201).send(await webhooks.create(secretCaller(request), request.body)),
  )

  app.get(
    '/v1/webhooks',
    { config: read, schema: { tags, operationId: 'webhooks.list', summary: 'List endpoints', querystring: PageQuery, response: { 200: EndpointPage } } },
    async (request) => webhooks.list(secretCaller(request), request.query.limit, request.query.cursor),
  )

  app.get(
    '/v1/webhooks/:id',
    { config: read, schema: { tags, operationId: 'webhooks.get', summary: 'Get an endpoint', params: IdParams, response: { 200: ref(EndpointSchema) } } },
    async (request) => webhooks.get(secretCaller(request), request.params.id),
  )

  app.patch(
    '/v1/webhooks/:id',
    {
      config: write,
      schema: {
        tags,
        operationId: 'webhooks.update',
        summary: 'Change the URL, events or description; enable or disable (enabling clears disabledReason)',
        params: IdParams,
        body: EndpointPatchBody,
        response: { 200: ref(EndpointSchema) },
      },
    },
    async (request) => webhooks.patch(secretCaller(request), request.params.id, request.body),
  )

  app.delete(
    '/v1/webhooks/:id',
    { config: write, schema: { tags, operationId: 'webhooks.delete', summary: 'Delete an endpoint and its delivery log', params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await webhooks.delete(secretCaller(request), request.params.id)
      return reply.status(204).send(null)
    },
  )

  app.post(
    '/v1/webhooks/:id/test',
    {
      config: write,
      schema: {
        tags,
        operationId: 'webhooks.test',
        summary: 'Send a webhook.test event to this endpoint, whatever its event filter',
        params: IdParams,
        response: { 202: Type.Object({ eventId: Type.String() }) },
        errorCodes: conflict,
      },
    },
    async (request, reply) => reply.status(202).send(await webhooks.test(secretCaller(request), request.params.id)),
  )

  app.post(
    '/v1/webhooks/:id/rotate-secret',
    {
      config: write,
      schema: {
        tags,
        operationId: 'webhooks.rotateSecret',
        summary: 'Replace the signing secret; during the overlap every delivery carries both signatures',
        params: IdParams,
        body: Type.Optional(
          Type.Object(
            { overlapSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800, default: DEFAULT_OVERLAP_SECONDS })) },
            { additionalProperties: false },
          ),
        ),
        response: { 200: ref(EndpointWithSecret) },
      },
    },
    async (request) => webhooks.rotateSecret(secretCaller(request), request.params.id, request.body?.overlapSeconds),
  )

  app.post(
    '/v1/webhooks/:id/recover',
    {
      config: write,
      schema: {
        tags,
        operationId: 'webhooks.recover',
        summary: 'Queue again every event that failed since a time (at most 14 days ago) and never succeeded',
        params: IdParams,
        body: Type.Object({ since: Timestamp }, { additionalProperties: false }),
        response: { 202: Type.Object({ count: Type.Integer() }) },
        errorCodes: conflict,
      },
    },
    async (request, reply) => reply.status(202).send(await webhooks.recover(secretCaller(request), request.params.id, request.body.since)),
  )

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      config: read,
      schema: {
        tags,
        operationId: 'webhooks.deliveries.list',
        summary: 'The delivery log: one record per attempt, latest first (a scheduled attempt is pending)',
        params: IdParams,
        querystring: DeliveryListQuery,
        response: { 200: DeliveryPage },
      },
    },
    async (request) => webhooks.deliveries(secretCaller(request), request.params.id, request.query),
  )

  app.post(
    '/v1/webhooks/:id/deliveries/:deliveryId/retry',
    {
      config: write,
      schema: {
        tags,
        operationId: 'webhooks.deliveries.retry',
        summary: "Attempt the delivery's event again now (same event id)",
        params: DeliveryParams,
        response: { 202: ref(DeliverySchema) },
        errorCodes: conflict,
      },
    },
    async (request, reply) => reply.status(202).send(await webhooks.retry(secretCaller(request), request.params.id, request.params.deliveryId)),
  )
}
