/**
 * Session tokens: minting (POST /v1/auth/token, rules in service.ts), the public JWKS, and
 * signing-key rotation.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import type { SigningKeyRing } from '../auth/signing-keys.js'
import type { Invalidations } from '../cluster/invalidations.js'
import { secretCaller } from '../http/caller-of.js'
import { Timestamp } from '../http/schemas.js'
import { UserId } from '../users/schemas.js'
import type { TokenService } from './service.js'

export interface TokenRouteDeps {
  tokens: TokenService
  ring: SigningKeyRing
  invalidations: Invalidations
}

const TokenResponse = Type.Object({ token: Type.String(), expiresAt: Timestamp })

export const tokenRoutes: FastifyPluginAsyncTypebox<TokenRouteDeps> = async (app, { tokens, ring, invalidations }) => {
  app.post(
    '/v1/auth/token',
    {
      config: { auth: { callers: ['secret'], scope: 'tokens:write' } },
      schema: {
        tags: ['Session tokens'],
        operationId: 'tokens.create',
        summary: 'Mint a session token (ES256 JWT) for one of your users',
        body: Type.Object(
          {
            userId: UserId,
            expiresIn: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400, default: 3600 })),
            scopes: Type.Optional(
              Type.Array(Type.String({ maxLength: 64 }), {
                maxItems: 32,
                uniqueItems: true,
                description: "Within the calling key's scopes. Left out (or empty): the token carries the key's scopes; unscoped only from an unscoped key.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: TokenResponse },
        errorCodes: ['user_not_found'],
      },
    },
    async (request, reply) => {
      const { userId, expiresIn = 3600, scopes } = request.body
      const minted = await tokens.mint(secretCaller(request), { userId, expiresIn, ...(scopes !== undefined && { scopes }) })
      return reply.status(201).send(minted)
    },
  )

  app.get(
    '/.well-known/jwks.json',
    { schema: { hide: true } },
    async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(ring.jwks()),
  )

  app.post(
    '/v1/admin/signing-keys/rotate',
    {
      config: { auth: { callers: ['admin'] } },
      schema: {
        tags: ['Operator'],
        operationId: 'admin.signingKeys.rotate',
        summary: 'Start signing with a new key; the old public key stays published until its tokens expire',
        response: { 201: Type.Object({ kid: Type.String(), createdAt: Timestamp }) },
      },
    },
    async (_request, reply) => {
      const created = await ring.rotate()
      invalidations.publish({ type: 'signing-keys' })
      return reply.status(201).send(created)
    },
  )
}
