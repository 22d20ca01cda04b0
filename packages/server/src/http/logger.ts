/**
 * JSON logs: one line per request (method, route, status, time, requestId), no headers, and every
 * line scrubbed of credentials before it is written.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { LogController } from 'fastify'
import pino, { type DestinationStream, type Logger } from 'pino'
import { redactor } from '../lib/redact.js'

export function createLogger(level: string, secrets: readonly string[], destination?: DestinationStream): Logger {
  const redact = redactor(secrets)
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: { streamWrite: redact },
      serializers: {
        req: (req: FastifyRequest) => ({ method: req.method, url: req.url, remoteAddress: req.ip }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
    destination,
  )
}

/** Logs one line when a request completes (not a second one when it arrives). */
export class RequestLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'requestId' })
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 100) / 100,
    }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}
