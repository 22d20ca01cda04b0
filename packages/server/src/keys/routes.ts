/** /v1/keys: a tenant manages its API keys with a secret key (keys:read / keys:write). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { secretCaller } from '../http/caller-of.js'
import { IdParams, Metadata, Nullable, PageQuery, RateLimitSchema, Timestamp, ref } from '../http/schemas.js'
import { KeyPage, KeySchema, keySchemaWithSecret } from './schemas.js'
import type { KeyService } from './service.js'

const read = { auth: { callers: ['secret'], scope: 'keys:read' } } as const
const write = { auth: { callers: ['secret'], scope: 'keys:write' } } as const
const tags = ['Keys']

const Scopes = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32, uniqueItems: true })
const Origins = Type.Array(Type.String({ maxLength: 256 }), { maxItems: 50, uniqueItems: true })
const VisitorTtl = Type.Integer({ minimum: 60, maximum: 86_400, description: 'Visitor token inactivity lifetime (publishable keys)' })

export const keyRoutes: FastifyPluginAsyncTypebox<{ keys: KeyService }> = async (app, { keys }) => {
  app.post(
    '/v1/keys',
    {
      config: write,
      schema: {
        tags,
        operationId: 'keys.create',
        summary: 'Create a key (the plaintext is returned once)',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            type: Type.Union([Type.Literal('secret'), Type.Literal('publishable')]),
            scopes: Type.Optional(Scopes),
            expiresAt: Type.Optional(Nullable(Timestamp)),
            allowedOrigins: Type.Optional(Nullable(Origins)),
            rateLimit: Type.Optional(Nullable(RateLimitSchema)),
            metadata: Type.Optional(Nullable(Metadata)),
            visitorTtlSeconds: Type.Optional(Nullable(VisitorTtl)),
          },
          { additionalProperties: false },
        ),
        response: { 201: ref(keySchemaWithSecret) },
        errorCodes: ['plan_limit_reached'],
      },
    },
    async (request, reply) => {
      return reply.status(201).send(await keys.create(secretCaller(request), request.body))
    },
  )

  app.get(
    '/v1/keys',
    { config: read, schema: { tags, operationId: 'keys.list', summary: 'List keys', querystring: PageQuery, response: { 200: KeyPage } } },
    async (request) => keys.list(secretCaller(request), request.query.limit, request.query.cursor),
  )

  app.get(
    '/v1/keys/:id',
    {
      config: read,
      schema: { tags, operationId: 'keys.get', summary: 'Get a key, with where it was reported leaked (leakReports)', params: IdParams, response: { 200: ref(KeySchema) } },
    },
    async (request) => keys.getWithLeakReports(secretCaller(request), request.params.id),
  )

  app.patch(
    '/v1/keys/:id',
    {
      config: write,
      schema: {
        tags,
        operationId: 'keys.update',
        summary: 'Rename, narrow scopes, change origins, rate limit or metadata',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            scopes: Type.Optional(Scopes),
            allowedOrigins: Type.Optional(Nullable(Origins)),
            rateLimit: Type.Optional(Nullable(RateLimitSchema)),
            metadata: Type.Optional(Nullable(Metadata)),
            visitorTtlSeconds: Type.Optional(Nullable(VisitorTtl)),
          },
          { additionalProperties: false },
        ),
        response: { 200: ref(KeySchema) },
      },
    },
    async (request) => keys.patch(secretCaller(request), request.params.id, request.body),
  )

  app.post(
    '/v1/keys/:id/revoke',
    {
      config: write,
      schema: {
        tags,
        operationId: 'keys.revoke',
        summary: 'Revoke a key at once, on every node',
        description: 'The caller needs the key’s scopes, as creating it would (403 insufficient_scope).',
        params: IdParams,
        response: { 200: ref(KeySchema) },
      },
    },
    async (request) => keys.revoke(secretCaller(request), request.params.id),
  )

  app.post(
    '/v1/keys/:id/roll',
    {
      config: write,
      schema: {
        tags,
        operationId: 'keys.roll',
        summary: 'Replace a key with a new secret; the old one works for expiresInSeconds more',
        description:
          'A key has at most one predecessor in grace: rolling a key ends the grace of the key it replaced. ' +
          'A grace keeps both keys active, so it needs room in the plan’s key count (403 plan_limit_reached). ' +
          'A key already rolled cannot be rolled again (400; 409 when another roll or a revocation of it commits first); ' +
          'the caller needs the key’s scopes (403 insufficient_scope).',
        params: IdParams,
        body: Type.Optional(
          Type.Object(
            { expiresInSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800, default: 0 })) },
            { additionalProperties: false },
          ),
        ),
        response: { 201: ref(keySchemaWithSecret) },
        errorCodes: ['plan_limit_reached', 'conflict'],
      },
    },
    async (request, reply) => {
      const grace = request.body?.expiresInSeconds ?? 0
      return reply.status(201).send(await keys.roll(secretCaller(request), request.params.id, grace))
    },
  )
}
