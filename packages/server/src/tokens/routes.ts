/**
 * Session tokens: minting (POST /v1/auth/token), the public JWKS, and signing-key rotation.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import type { SessionTokens } from '../auth/session-tokens.js'
import type { SigningKeyRing } from '../auth/signing-keys.js'
import type { Invalidations } from '../cluster/invalidations.js'
import { firstMissing, isValidScope, isWithin } from '../auth/scopes.js'
import { ApiError, invalidParam } from '../errors.js'
import { secretCaller } from '../http/caller-of.js'
import { Problem, Timestamp, authErrors } from '../http/schemas.js'
import type { UserCache } from '../users/user-cache.js'
import { UserId } from '../users/schemas.js'

export interface TokenRouteDeps {
  tokens: SessionTokens
  ring: SigningKeyRing
  invalidations: Invalidations
  users: UserCache
}

const TokenResponse = Type.Object({ token: Type.String(), expiresAt: Timestamp })

export const tokenRoutes: FastifyPluginAsyncTypebox<TokenRouteDeps> = async (app, { tokens, ring, users, invalidations }) => {
  app.post(
    '/v1/auth/token',
    {
      config: { auth: { callers: ['secret'], scope: 'tokens:write' } },
      schema: {
        tags: ['Session tokens'],
        summary: 'Mint a session token (ES256 JWT) for one of your users',
        body: Type.Object(
          {
            userId: UserId,
            expiresIn: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400, default: 3600 })),
            scopes: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32, uniqueItems: true })),
          },
          { additionalProperties: false },
        ),
        response: { 201: TokenResponse, 404: Type.Ref(Problem), ...authErrors },
      },
    },
    async (request, reply) => {
      const caller = secretCaller(request)
      const { userId, expiresIn = 3600, scopes } = request.body
      scopes?.forEach((scope, i) => {
        if (!isValidScope(scope)) throw invalidParam(`scopes[${i}]`, `unknown scope "${scope}"`)
      })
      // A token never carries more than the key that minted it.
      if (scopes && !isWithin(scopes, caller.scopes)) {
        throw new ApiError('insufficient_scope', `The token would have ${firstMissing(scopes, caller.scopes)}, which the calling key lacks`)
      }
      const user = (await users.get(caller.tenant.id, caller.environment, userId))?.user
      if (!user) throw new ApiError('user_not_found', `No user ${userId} in this environment; upsert it first`)
      const minted = await tokens.mint({
        tenantId: caller.tenant.id,
        environment: caller.environment,
        userId,
        kind: user.kind,
        expiresInSeconds: expiresIn,
        scopes,
      })
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
        summary: 'Start signing with a new key; the old public key stays published until its tokens expire',
        response: { 201: Type.Object({ kid: Type.String(), createdAt: Timestamp }), ...authErrors },
      },
    },
    async (_request, reply) => {
      const created = await ring.rotate()
      invalidations.publish({ type: 'signing-keys' })
      return reply.status(201).send(created)
    },
  )
}
