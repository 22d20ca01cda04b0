/**
 * Every error leaves as RFC 9457 problem+json with a code from the closed list (errors.ts):
 * our own ApiErrors, Fastify's parser and validation errors, unknown routes, protocol errors the
 * HTTP parser raises before Fastify sees a request, and bugs (a 500 that leaks nothing).
 */
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, type FieldError, problemBody } from '../errors.js'
import { newId } from '../ids.js'
import { isStorageUnavailable } from '../storage/database.js'

export function registerProblemHandling(app: FastifyInstance, publicUrl: string): void {
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    sendProblem(reply, request, new ApiError('not_found', `No route ${request.method} ${path}`), publicUrl)
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = toApiError(error)
    if (apiError.status >= 500) request.log.error({ err: error }, 'request failed')
    sendProblem(reply, request, apiError, publicUrl)
  })
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: ApiError, publicUrl: string): FastifyReply {
  if (error.headers) reply.headers(error.headers)
  return reply
    .status(error.status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(error, request.id, publicUrl)))
}

function toApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error
  if (error.validation) return new ApiError('validation_failed', 'The request does not match the schema', { errors: fieldErrors(error) })
  if (isStorageUnavailable(error)) return new ApiError('unavailable', 'Storage is unavailable; retry shortly')
  switch (error.statusCode) {
    case 413:
      return new ApiError('payload_too_large', 'The request body is larger than 1 MiB')
    case 415:
      return new ApiError('unsupported_media_type', 'Send the body as application/json')
    case 400:
      return new ApiError('invalid_request', error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'The JSON body is empty' : 'The request body is not valid JSON')
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new ApiError('invalid_request', 'The request could not be understood')
  }
  return new ApiError('internal_error', 'Something went wrong on our side; the request id helps us find it')
}

/** Ajv errors as `{ param, message }`, with params written as `members[0].id`. */
function fieldErrors(error: FastifyError): FieldError[] {
  return (error.validation ?? []).map((issue) => {
    const parts = issue.instancePath.split('/').filter(Boolean)
    const extra = issue.params as { missingProperty?: string; additionalProperty?: string }
    if (extra.missingProperty) parts.push(extra.missingProperty)
    if (extra.additionalProperty) parts.push(extra.additionalProperty)
    const param = parts.reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), '')
    const message = extra.additionalProperty ? 'is not a known field' : (issue.message ?? 'is invalid')
    return { param: param || (error.validationContext ?? 'body'), message }
  })
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' }

/** Errors Node's HTTP parser raises before routing (oversized headers, garbage): still problem+json. */
export function clientErrorHandler(publicUrl: string) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (!socket.writable) {
      socket.destroy()
      return
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
    const detail = status === 431 ? 'The request headers are too large' : 'The HTTP request is malformed'
    // No request object exists yet, but every response still gets an id (API.md §0.3).
    const requestId = newId('request')
    const body = JSON.stringify(problemBody(new ApiError('invalid_request', detail, { status }), requestId, publicUrl))
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/problem+json\r\nx-request-id: ${requestId}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
}
