/**
 * Every error leaves as RFC 9457 problem+json with a code from the closed list (errors.ts):
 * our own ApiErrors, Fastify's parser and validation errors, unknown routes, protocol errors the
 * HTTP parser raises before Fastify sees a request, and bugs (a 500 that leaks nothing).
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, type FieldError, problemBody } from '../core/errors.js'
import { newId } from '../core/ids.js'
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
  // Fastify marks a client that went away mid-body (ECONNRESET on the request stream) 400: not an outage.
  if (isStorageUnavailable(error) && error.statusCode === undefined) return new ApiError('unavailable', 'Storage is unavailable; retry shortly')
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

const CLIENT_ERRORS: Record<string, { status: number; detail: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, detail: 'The request headers are too large' },
  // Headers or body slower than PARLEY_HEADERS_TIMEOUT_MS / PARLEY_REQUEST_TIMEOUT_MS (http/connections.ts).
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: 'The request did not arrive in time' },
}

/** Errors Node's HTTP parser raises before routing (oversized headers, garbage, timeouts): still problem+json. */
export function clientErrorHandler(publicUrl: string) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    // A response already under way cannot be followed by another without corrupting it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy()
      return
    }
    const { status, detail } = CLIENT_ERRORS[error.code ?? ''] ?? { status: 400, detail: 'The HTTP request is malformed' }
    // No request object exists yet, but every response still gets an id (API.md §0.3).
    writeRawProblem(socket, new ApiError('invalid_request', detail, { status }), newId('request'), publicUrl, () => {
      // A timed-out client may still be trickling bytes: it does not get to hold the socket open.
      if (status === 408) socket.destroy()
    })
  }
}

/**
 * A problem+json response written straight to a socket, for refusals before Fastify has a request
 * (HTTP parser errors, WebSocket upgrades): the same body and x-request-id header as any other
 * error, then the connection closes. `requestId` must already be sane (request-id.ts).
 */
export function writeRawProblem(socket: Duplex, error: ApiError, requestId: string, publicUrl: string, onEnd?: () => void): void {
  if (!socket.writable) return void socket.destroy()
  const body = JSON.stringify(problemBody(error, requestId, publicUrl))
  const headers: Record<string, string> = {
    'Content-Type': 'application/problem+json',
    'x-request-id': requestId,
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...error.headers,
  }
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')
  socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`, onEnd)
}
