/**
 * Log lines for a person at a terminal. pino still builds (and the logger still redacts) the JSON
 * line it would write anyway; this destination turns each one into a short line:
 *
 *   14:14:18.965 INFO  GET /v1/me 401 6.86 ms req_qUtA53NgmZ4Mq1VuJ3WUc9
 *   14:14:19.002 WARN  background checkpoints stopped context="…"
 *
 * Written here rather than taken from pino-pretty to keep the server's runtime dependencies few.
 */
import type { DestinationStream } from 'pino'

const LEVELS: Record<number, { label: string; color: string }> = {
  10: { label: 'TRACE', color: '90' },
  20: { label: 'DEBUG', color: '90' },
  30: { label: 'INFO', color: '32' },
  40: { label: 'WARN', color: '33' },
  50: { label: 'ERROR', color: '31' },
  60: { label: 'FATAL', color: '35' },
}

/** Fields every line shows in its own place; other fields follow as key=value. */
const PLACED = ['level', 'time', 'msg', 'requestId', 'err']
const REQUEST_FIELDS = ['method', 'route', 'statusCode', 'responseTime']
const REQUEST_MESSAGES = new Set(['request completed', 'request errored'])

type Paint = (code: string, text: string) => string
const ansi: Paint = (code, text) => `\u001b[${code}m${text}\u001b[0m`
const plain: Paint = (_code, text) => text

function statusColor(status: number): string {
  if (status >= 500) return '31'
  if (status >= 400) return '33'
  if (status >= 300) return '36'
  return '32'
}

/** Local wall-clock time with milliseconds: the date is noise when watching a terminal. */
function clock(time: unknown): string {
  const date = typeof time === 'string' || typeof time === 'number' ? new Date(time) : new Date(Number.NaN)
  if (Number.isNaN(date.getTime())) return '--:--:--.---'
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
}

function extras(entry: Record<string, unknown>, placed: readonly string[]): string {
  return Object.entries(entry)
    .filter(([key, value]) => !placed.includes(key) && value !== undefined)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(' ')
}

/** The error's message on the line, its stack (without the repeated first line) below it. */
function errorText(err: unknown, paint: Paint): { inline: string; below: string } {
  if (typeof err !== 'object' || err === null) return { inline: '', below: '' }
  const { message, stack } = err as { message?: unknown; stack?: unknown }
  const inline = typeof message === 'string' ? paint('31', message) : ''
  const frames = typeof stack === 'string' ? stack.split('\n').slice(1) : []
  return { inline, below: frames.length > 0 ? `\n${paint('2', frames.join('\n'))}` : '' }
}

/** One JSON log line → one readable line (plus an error's stack). Anything not JSON passes through. */
export function prettyLine(jsonLine: string, colors: boolean): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(jsonLine) as Record<string, unknown>
  } catch {
    return jsonLine
  }
  if (typeof entry !== 'object' || entry === null) return jsonLine
  const paint = colors ? ansi : plain
  const level = LEVELS[entry.level as number] ?? { label: String(entry.level), color: '0' }
  const head = `${paint('2', clock(entry.time))} ${paint(level.color, level.label.padEnd(5))}`
  const error = errorText(entry.err, paint)
  const requestId = typeof entry.requestId === 'string' ? paint('2', entry.requestId) : ''
  const isRequest = REQUEST_MESSAGES.has(entry.msg as string) && typeof entry.statusCode === 'number'
  let body = typeof entry.msg === 'string' ? entry.msg : ''
  if (isRequest) {
    const status = paint(statusColor(entry.statusCode as number), String(entry.statusCode))
    body = `${entry.method} ${entry.route} ${status} ${entry.responseTime} ms`
  }
  const rest = extras(entry, isRequest ? [...PLACED, ...REQUEST_FIELDS] : PLACED)
  const parts = [head, body, error.inline, rest, requestId].filter((part) => part !== '')
  return `${parts.join(' ')}${error.below}\n`
}

/**
 * A pino destination writing readable lines to `out`. `redact` runs again on the finished line:
 * the JSON was already scrubbed, but a configured secret that JSON had to escape only appears
 * verbatim once the line is decoded.
 */
export function prettyDestination(
  out: { write(text: string): unknown },
  colors: boolean,
  redact: (text: string) => string,
): DestinationStream {
  return { write: (line: string) => void out.write(redact(prettyLine(line, colors))) }
}
