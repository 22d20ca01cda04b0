import { Type } from '@fastify/type-provider-typebox'
import { Nullable, Timestamp, named } from '../http/schemas.js'

export const SignInBody = Type.Object(
  {
    key: Type.String({
      minLength: 1,
      maxLength: 512,
      description: 'The admin key (signs in as the operator) or a tenant secret key (signs in to its tenant and environment). Publishable keys and session tokens cannot sign in',
    }),
  },
  { additionalProperties: false },
)

export const DashboardSessionSchema = named(
  'DashboardSession',
  Type.Object({
    kind: Type.String({ enum: ['operator', 'tenant'], description: 'operator: signed in with the admin key (every tenant); tenant: with one tenant secret key' }),
    tenant: Nullable(
      Type.Object({ id: Type.String({ examples: ['ten_3kTq9w2XbZ7yV1mN8pLr4a'] }), name: Type.String(), plan: Type.String() }, { description: 'The tenant of a tenant session; null for the operator' }),
    ),
    environment: Nullable(Type.String({ enum: ['live', 'test'], description: 'The environment of a tenant session’s key; null for the operator' })),
    scopes: Nullable(
      Type.Array(Type.String(), { description: 'The scopes of a tenant session’s key, as they are now ([] = unscoped: every scope); null for the operator' }),
    ),
    expiresAt: Timestamp,
  }),
)
