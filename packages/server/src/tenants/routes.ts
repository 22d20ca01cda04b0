/** /v1/admin/tenants: the operator's tenant management (admin key only). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { keySchemaWithSecret } from '../keys/schemas.js'
import { IdParams, Nullable, Page, PageQuery, RateLimitSchema, Timestamp, named, ref } from '../http/schemas.js'
import type { TenantService } from './service.js'

export const TenantSchema = named('Tenant', Type.Object({
  id: Type.String(),
  name: Type.String(),
  plan: Type.String(),
  rateLimit: Nullable(RateLimitSchema),
  suspended: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}))
const TenantPage = Page(TenantSchema)

const admin = { auth: { callers: ['admin'] } } as const
const tags = ['Operator']

export const tenantRoutes: FastifyPluginAsyncTypebox<{ tenants: TenantService }> = async (app, { tenants }) => {
  app.post(
    '/v1/admin/tenants',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'admin.tenants.create',
        summary: 'Create a tenant with one secret key per environment',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), plan: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            tenant: ref(TenantSchema),
            keys: Type.Object({ live: ref(keySchemaWithSecret), test: ref(keySchemaWithSecret) }),
          }),
        },
      },
    },
    async (request, reply) => reply.status(201).send(await tenants.create(request.body)),
  )

  app.get(
    '/v1/admin/tenants',
    { config: admin, schema: { tags, operationId: 'admin.tenants.list', summary: 'List tenants, newest first', querystring: PageQuery, response: { 200: TenantPage } } },
    async (request) => tenants.list(request.query.limit, request.query.cursor),
  )

  app.get(
    '/v1/admin/tenants/:id',
    {
      config: admin,
      schema: { tags, operationId: 'admin.tenants.get', summary: 'Get a tenant', params: IdParams, response: { 200: ref(TenantSchema) } },
    },
    async (request) => tenants.get(request.params.id),
  )

  app.patch(
    '/v1/admin/tenants/:id',
    {
      config: admin,
      schema: {
        tags,
        operationId: 'admin.tenants.update',
        summary: 'Rename, change plan or rate limit, suspend or reinstate a tenant',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            plan: Type.Optional(Type.String({ maxLength: 64 })),
            rateLimit: Type.Optional(Nullable(RateLimitSchema)),
            suspended: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: ref(TenantSchema) },
      },
    },
    async (request) => tenants.patch(request.params.id, request.body),
  )

  app.delete(
    '/v1/admin/tenants/:id',
    {
      config: admin,
      schema: { tags, operationId: 'admin.tenants.delete', summary: 'Delete a tenant (permanent)', params: IdParams, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      await tenants.delete(request.params.id)
      return reply.status(204).send(null)
    },
  )
}
