/**
 * Responses whose JSON body the handler already has as a string (e.g. a cached history page),
 * serialised earlier with the route's own response serialiser. Fastify sends a string with a JSON
 * content type as it is; only the route's static typing expects an object, hence this one place.
 */
import type { FastifyReply } from 'fastify'

/** The route's 2xx response serialiser, as a function (for rendering bodies to keep). */
export function serializerOf(reply: FastifyReply): (payload: unknown) => string {
  return (payload) => String(reply.serialize(payload))
}

export function sendPrerendered(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body)
}
