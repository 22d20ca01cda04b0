/**
 * HTTP/1.1 requests for FCM (its OAuth token endpoint and messages:send), on keep-alive agents.
 * Unlike delivery/http-post.ts, which keeps 1 KB of a webhook receiver's answer, this reads a
 * whole (bounded) JSON answer: an OAuth access token may be longer than that.
 *
 * With a guard, every connection goes through the address rules (the token endpoint is the
 * tenant's `token_uri`, so it is held to the same rules as a webhook URL).
 */
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import type { AddressGuard } from '../delivery/address-guard.js'
import { PUSH_TIMEOUT_MS, PUSH_USER_AGENT, TimeoutError } from './provider.js'

export interface HttpAnswer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

const MAX_BODY_BYTES = 64 * 1024

export class Http1Client {
  private readonly agents: { 'http:': http.Agent; 'https:': https.Agent }

  constructor(
    private readonly guard: AddressGuard | null,
    private readonly timeoutMs = PUSH_TIMEOUT_MS,
  ) {
    // Idle connections kept per host: as many as a provider may have sends in flight (setup.ts), so
    // the next burst reuses them rather than opening half of them again.
    const options = { keepAlive: true, maxFreeSockets: 128, scheduling: 'lifo' as const, ...(guard ? { lookup: guard.lookup } : {}) }
    this.agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) }
  }

  /** POSTs `body`; throws on no answer (network error, timeout, abort, a refused address). */
  async post(url: URL, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<HttpAnswer> {
    // net.connect does not look IP literals up, so the agent's lookup never sees them.
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (this.guard && isIP(host)) this.guard.checkAddress(host)
    return this.once(url, Buffer.from(body), headers, signal, true)
  }

  close(): void {
    this.agents['http:'].destroy()
    this.agents['https:'].destroy()
  }

  private once(url: URL, body: Buffer, headers: Record<string, string>, signal: AbortSignal, mayRetryStaleSocket: boolean): Promise<HttpAnswer> {
    const client = url.protocol === 'https:' ? https : http
    return new Promise((resolve, rejectWith) => {
      let timedOut = false
      const reject = (error: unknown) => rejectWith(timedOut ? new TimeoutError(this.timeoutMs) : error)
      const request = client.request(url, {
        method: 'POST',
        agent: this.agents[url.protocol as 'http:' | 'https:'],
        headers: { ...headers, 'content-length': String(body.length), 'user-agent': PUSH_USER_AGENT },
        signal,
      })
      const timer = setTimeout(() => {
        timedOut = true
        request.destroy(new TimeoutError(this.timeoutMs))
      }, this.timeoutMs)
      request.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        // A kept-alive connection the server closed just as we wrote: once more on a fresh one.
        if (mayRetryStaleSocket && request.reusedSocket && error.code === 'ECONNRESET') this.once(url, body, headers, signal, false).then(resolve, reject)
        else reject(error)
      })
      request.on('response', (response) => {
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size <= MAX_BODY_BYTES) chunks.push(chunk)
        })
        response.on('end', () => {
          clearTimeout(timer)
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') })
        })
        response.on('error', (error) => {
          clearTimeout(timer)
          reject(error)
        })
      })
      request.end(body)
    })
  }
}
