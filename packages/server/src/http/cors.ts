/**
 * CORS (API.md §0.3). Browsers call Parley directly with session tokens and publishable keys, so
 * those responses carry CORS for the calling origin (publishable keys: only their allowed
 * origins). Secret-key responses never do: secret keys belong on servers. Preflights carry no
 * credential, so they are answered for any origin; the real request then enforces the key's rules.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'

const ALLOWED_HEADERS = 'authorization, content-type, x-api-key, x-request-id, x-tenant-id, x-sender-id'
const EXPOSED_HEADERS = 'x-request-id, ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after, www-authenticate'
const JWT_BEARER = /^bearer\s+eyJ/i

export function registerCors(app: FastifyInstance): void {
  app.options('/v1/*', { schema: { hide: true } }, async (request, reply) => {
    const origin = request.headers.origin
    reply.header('vary', 'Origin')
    if (origin) {
      reply.headers({
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': '600',
      })
    }
    return reply.status(204).send()
  })

  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.url.startsWith('/v1/') && request.method !== 'OPTIONS') {
      reply.header('vary', 'Origin')
      const origin = request.headers.origin
      if (origin && corsAllowed(request, origin)) {
        reply.headers({ 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS })
      }
    }
    done(null, payload)
  })
}

function corsAllowed(request: FastifyRequest, origin: string): boolean {
  const caller = request.caller
  if (caller?.kind === 'session') return true
  if (caller?.kind === 'publishable') {
    const allowed = caller.key.allowedOrigins
    return !allowed || allowed.length === 0 || allowed.includes(origin)
  }
  // A browser whose session token failed must be able to read why (e.g. token_expired → refresh).
  return caller === null && JWT_BEARER.test(request.headers.authorization ?? '')
}
