/**
 * Responses whose JSON body the handler already has as a string (a history page, written by the
 * database and perhaps cached). Fastify sends a string with a JSON content type as it is; only the
 * route's static typing expects an object, hence this one place.
 */
import type { FastifyReply } from 'fastify'

export function sendPrerendered(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body)
}
