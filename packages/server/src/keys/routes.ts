/** /v1/keys: a tenant manages its API keys with a secret key (keys:read / keys:write). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { secretCaller } from '../http/caller-of.js'
import { IdParams, Metadata, Nullable, Page, PageQuery, Problem, RateLimitSchema, Timestamp, authErrors, checkMetadata } from '../http/schemas.js'
import { KeySchema, keySchemaWithSecret } from './schemas.js'
import type { KeyService } from './service.js'

const read = { auth: { callers: ['secret'], scope: 'keys:read' } } as const
const write = { auth: { callers: ['secret'], scope: 'keys:write' } } as const
const tags = ['Keys']
const notFound = { 404: Type.Ref(Problem) }

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
        response: { 201: keySchemaWithSecret, ...authErrors },
      },
    },
    async (request, reply) => {
      checkMetadata(request.body.metadata)
      return reply.status(201).send(await keys.create(secretCaller(request), request.body))
    },
  )

  app.get(
    '/v1/keys',
    { config: read, schema: { tags, summary: 'List keys', querystring: PageQuery, response: { 200: Page(KeySchema), ...authErrors } } },
    async (request) => keys.list(secretCaller(request), request.query.limit, request.query.cursor),
  )

  app.get(
    '/v1/keys/:id',
    { config: read, schema: { tags, summary: 'Get a key', params: IdParams, response: { 200: KeySchema, ...notFound, ...authErrors } } },
    async (request) => keys.get(secretCaller(request), request.params.id),
  )

  app.patch(
    '/v1/keys/:id',
    {
      config: write,
      schema: {
        tags,
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
        response: { 200: KeySchema, ...notFound, ...authErrors },
      },
    },
    async (request) => {
      checkMetadata(request.body.metadata)
      return keys.patch(secretCaller(request), request.params.id, request.body)
    },
  )

  app.post(
    '/v1/keys/:id/revoke',
    {
      config: write,
      schema: { tags, summary: 'Revoke a key at once, on every node', params: IdParams, response: { 200: KeySchema, ...notFound, ...authErrors } },
    },
    async (request) => keys.revoke(secretCaller(request), request.params.id),
  )

  app.post(
    '/v1/keys/:id/roll',
    {
      config: write,
      schema: {
        tags,
        summary: 'Replace a key with a new secret; the old one works for expiresInSeconds more',
        params: IdParams,
        body: Type.Optional(
          Type.Object(
            { expiresInSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800, default: 0 })) },
            { additionalProperties: false },
          ),
        ),
        response: { 201: keySchemaWithSecret, ...notFound, ...authErrors },
      },
    },
    async (request, reply) => {
      const grace = request.body?.expiresInSeconds ?? 0
      return reply.status(201).send(await keys.roll(secretCaller(request), request.params.id, grace))
    },
  )
}
