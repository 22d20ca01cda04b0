/**
 * JSON bodies with their bytes kept. A signature covers the body exactly as sent, which
 * re-serialising the parsed value would not reproduce (spacing, key order, escapes). Called in an
 * encapsulated plugin, it replaces the JSON parser for that plugin's routes only, with Fastify's
 * own JSON parsing (prototype-poisoning keys refused) behind it.
 *
 * A body that is not JSON is not refused while parsing, so that a signed route checks the signature
 * first and an unsigned request learns nothing, not even that its JSON was bad: `refuseUnreadable`
 * throws that 400 when the route is ready to.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError } from '../core/errors.js'

export interface RawJson {
  /** The body's bytes as received (empty without a body). */
  bytesOf(request: FastifyRequest): Buffer
  /** Throws 400 invalid_request when the body was not JSON. */
  refuseUnreadable(request: FastifyRequest): void
}

export function keepRawJson(app: FastifyInstance): RawJson {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const bytes = new WeakMap<FastifyRequest, Buffer>()
  const unreadable = new WeakMap<FastifyRequest, ApiError>()
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer
    bytes.set(request, raw)
    void parseJson(request, raw.toString('utf8'), (error, value) => {
      if (error) unreadable.set(request, new ApiError('invalid_request', raw.length === 0 ? 'The JSON body is empty' : 'The request body is not valid JSON'))
      done(null, error ? undefined : value)
    })
  })
  return {
    bytesOf: (request) => bytes.get(request) ?? Buffer.alloc(0),
    refuseUnreadable: (request) => {
      const error = unreadable.get(request)
      if (error) throw error
    },
  }
}
