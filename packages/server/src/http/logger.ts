/**
 * Logs: one line per request (method, route, status, time, requestId), no headers, and every line
 * scrubbed of credentials before it is written. JSON lines for machines; readable lines
 * (log-format.ts) for a person at a terminal.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { LogController } from 'fastify'
import pino, { type DestinationStream, type Logger } from 'pino'
import { redactor } from '../lib/redact.js'
import { prettyDestination } from './log-format.js'

export interface LogOutput {
  /** auto: pretty when writing to stdout and stdout is a terminal, JSON otherwise. */
  format: 'auto' | 'json' | 'pretty'
  /** Colours, if pretty and the output is a terminal. */
  colors: boolean
}

/** Logs to `destination` (default stdout), as JSON lines unless `output` asks for readable ones. */
export function createLogger(
  level: string,
  secrets: readonly string[],
  destination?: DestinationStream,
  output: LogOutput = { format: 'json', colors: false },
): Logger {
  const redact = redactor(secrets)
  const toTerminal = destination === undefined && process.stdout.isTTY === true
  const pretty = output.format === 'pretty' || (output.format === 'auto' && toTerminal)
  const target = pretty ? prettyDestination(destination ?? process.stdout, output.colors && toTerminal, redact) : destination
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
    target,
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
