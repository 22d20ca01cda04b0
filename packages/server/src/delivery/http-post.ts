/**
 * One POST to a third party, as the delivery queue makes them: node's http/https on keep-alive
 * agents whose every connection goes through the address guard (the address checked is the
 * address connected to), a deadline for the whole exchange, no redirects followed, and at most
 * the first 1 KB of the answer kept.
 */
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import type { AddressGuard } from './address-guard.js'

/** What a receiver answered (status null: no answer at all, see `error`). */
export interface PostResult {
  status: number | null
  /** The Retry-After header, as sent. */
  retryAfter: string | undefined
  /** The first bytes of the body, as text (at most KEEP_BYTES). */
  body: string | null
  durationMs: number
  error: string | null
}

const KEEP_BYTES = 1024
// Read past what is kept so the connection can be reused; a larger answer costs its connection.
const DRAIN_BYTES = 64 * 1024

export class HttpPoster {
  private readonly agents: { 'http:': http.Agent; 'https:': https.Agent }

  constructor(
    private readonly guard: AddressGuard,
    private readonly timeoutMs: number,
    private readonly userAgent: string,
  ) {
    const options = { keepAlive: true, maxFreeSockets: 32, scheduling: 'lifo' as const, lookup: guard.lookup }
    this.agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) }
  }

  async post(url: URL, body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<PostResult> {
    const started = performance.now()
    const done = (result: Omit<PostResult, 'durationMs'>): PostResult => ({ ...result, durationMs: Math.round(performance.now() - started) })
    try {
      // net.connect does not look IP literals up, so the agent's lookup never sees them.
      const host = url.hostname.replace(/^\[|\]$/g, '')
      if (isIP(host)) this.guard.checkAddress(host)
      const answer = await this.once(url, body, headers, signal, true)
      return done({ ...answer, error: null })
    } catch (error) {
      return done({ status: null, retryAfter: undefined, body: null, error: describe(error, this.timeoutMs) })
    }
  }

  close(): void {
    this.agents['http:'].destroy()
    this.agents['https:'].destroy()
  }

  private once(
    url: URL,
    body: Buffer,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    mayRetryStaleSocket: boolean,
  ): Promise<Omit<PostResult, 'durationMs' | 'error'>> {
    const client = url.protocol === 'https:' ? https : http
    return new Promise((resolve, rejectWith) => {
      let timedOut = false
      // Once the deadline has passed, whatever error the destroyed request reports is the timeout.
      const reject = (error: unknown) => rejectWith(timedOut ? new TimeoutError() : error)
      const request = client.request(url, {
        method: 'POST',
        agent: this.agents[url.protocol as 'http:' | 'https:'],
        headers: { ...headers, 'content-length': String(body.length), 'user-agent': this.userAgent },
        signal,
      })
      const timer = setTimeout(() => {
        timedOut = true
        request.destroy(new TimeoutError())
      }, this.timeoutMs)
      request.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        // A kept-alive connection the receiver closed just as we wrote: try once on a fresh one.
        if (mayRetryStaleSocket && request.reusedSocket && error.code === 'ECONNRESET') {
          this.once(url, body, headers, signal, false).then(resolve, reject)
        } else {
          reject(error)
        }
      })
      request.on('response', (response) => {
        const kept: Buffer[] = []
        let seen = 0
        response.on('data', (chunk: Buffer) => {
          if (seen < KEEP_BYTES) kept.push(chunk.subarray(0, KEEP_BYTES - seen))
          seen += chunk.length
          if (seen > DRAIN_BYTES) response.destroy()
        })
        const finish = () => {
          clearTimeout(timer)
          resolve({
            status: response.statusCode ?? null,
            retryAfter: header(response.headers['retry-after']),
            body: seen === 0 ? null : Buffer.concat(kept).toString('utf8'),
          })
        }
        response.on('end', finish)
        // Destroyed after DRAIN_BYTES: the status and the first bytes are all we wanted.
        response.on('close', () => (seen > DRAIN_BYTES ? finish() : undefined))
        response.on('error', (error) => (seen > DRAIN_BYTES ? finish() : reject(error)))
      })
      request.end(body)
    })
  }
}

class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT'
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value)

const MESSAGES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the receiver',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ABORT_ERR: 'aborted (the node is shutting down)',
}

/** One line for the delivery log: what went wrong, without stack or internals. */
function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof TimeoutError) return `timed out after ${timeoutMs / 1000} s`
  const { code, message } = error as NodeJS.ErrnoException
  if (code === 'EADDRNOTALLOWED') return message
  if (code && MESSAGES[code]) return MESSAGES[code]
  if (code?.startsWith('ERR_TLS') || code?.includes('CERT')) return `TLS error: ${code}`
  return code ? `request failed: ${code}` : `request failed: ${message}`
}
