/**
 * APNs (Apple Push Notification service), token-based: an ES256 "provider token" signed with the
 * tenant's .p8 key (header kid = key id, claims iss = team id and iat), reused for 40 minutes
 * (Apple refuses one older than an hour and one renewed more often than every 20 minutes), and
 * one HTTP/2 session per provider, reused for every request and opened again when it closes.
 * Each notification is `POST /3/device/<token>` with the §10 payload.
 */
import type { KeyObject } from 'node:crypto'
import http2 from 'node:http2'
import { SignJWT } from 'jose'
import { invalidParam } from '../core/errors.js'
import type { MaybePromise } from '../lib/maybe-promise.js'
import { objectAt, privateKeyAt, stringAt } from './keys.js'
import {
  apnsPayload,
  isRetryable,
  networkFailure,
  parseJson,
  PUSH_TIMEOUT_MS,
  type PushMessage,
  type PushProvider,
  type PushResult,
  type PushTarget,
  result,
  retryAfter,
  shortReason,
  statusPhrase,
  TimeoutError,
} from './provider.js'

/** Settings as stored (decrypted) per tenant and environment. */
export interface ApnsSettings {
  /** The 10-character Team ID of the Apple Developer account. */
  teamId: string
  /** The 10-character Key ID of the APNs auth key. */
  keyId: string
  /** The .p8 file's text (a PEM EC P-256 private key). */
  privateKey: string
  /** The app's bundle id: the `apns-topic` of every notification. */
  bundleId: string
  /** true: Apple's production host; false: the sandbox (development builds). */
  production: boolean
}

export interface ApnsOptions {
  /** PARLEY_APNS_URL; null = Apple's host for `production`. An http:// URL is HTTP/2 without TLS. */
  baseUrl: string | null
  now?: () => number
  timeoutMs?: number
}

export const APNS_PRODUCTION_URL = 'https://api.push.apple.com'
export const APNS_SANDBOX_URL = 'https://api.sandbox.push.apple.com'
/** How long one provider token is used (Apple: renew between 20 and 60 minutes). */
export const PROVIDER_TOKEN_RENEW_MS = 40 * 60_000

const APPLE_ID = /^[A-Z0-9]{10}$/
const BUNDLE_ID = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/

/** The settings of a `PUT /v1/push/providers/apns`, checked (throws ApiError validation_failed). */
export function validateApnsSettings(value: unknown): ApnsSettings {
  const fields = objectAt(value, 'body')
  const teamId = stringAt(fields, 'teamId', 'teamId', APPLE_ID, 'the 10-character Team ID of your Apple Developer account, e.g. "ABCDE12345"')
  const keyId = stringAt(fields, 'keyId', 'keyId', APPLE_ID, 'the 10-character Key ID of your APNs auth key, e.g. "XYZ9876543"')
  const privateKey = fields.privateKey as string
  privateKeyAt(privateKey, 'privateKey', 'p256', 'the text of the AuthKey_<keyId>.p8 file Apple let you download')
  const bundleId = stringAt(fields, 'bundleId', 'bundleId', BUNDLE_ID, "your app's bundle identifier, e.g. \"com.example.chat\"")
  if (bundleId.length > 155) throw invalidParam('bundleId', 'must be at most 155 characters')
  if (typeof fields.production !== 'boolean') throw invalidParam('production', 'must be true (App Store and TestFlight builds) or false (development builds)')
  return { teamId, keyId, privateKey, bundleId, production: fields.production }
}

/** Where this tenant's requests go: PARLEY_APNS_URL, else Apple's host for `production`. */
export function apnsBaseUrl(settings: Pick<ApnsSettings, 'production'>, baseUrl: string | null): string {
  return baseUrl ?? (settings.production ? APNS_PRODUCTION_URL : APNS_SANDBOX_URL)
}

export function createApnsProvider(settings: ApnsSettings, options: ApnsOptions): PushProvider {
  return new ApnsProvider(validateApnsSettings(settings), options)
}

class ApnsProvider implements PushProvider {
  readonly type = 'apns' as const
  private readonly tokens: ProviderTokens
  private readonly connection: Http2Connection
  private readonly now: () => number

  constructor(
    private readonly settings: ApnsSettings,
    options: ApnsOptions,
  ) {
    this.now = options.now ?? Date.now
    const key = privateKeyAt(settings.privateKey, 'privateKey', 'p256', 'the .p8 file')
    this.tokens = new ProviderTokens(key, settings, this.now)
    this.connection = new Http2Connection(apnsBaseUrl(settings, options.baseUrl), options.timeoutMs ?? PUSH_TIMEOUT_MS)
  }

  payload(message: PushMessage): unknown {
    return apnsPayload(message)
  }

  async send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<PushResult> {
    if (!target.token) return result('failed', null, 'no device token')
    const body = JSON.stringify(apnsPayload(message))
    try {
      let answer = await this.post(target.token, body, message, signal)
      // Apple thinks the token too old (clock skew, a long pause): sign a new one, once.
      if (answer.status === 403 && answer.reason === 'ExpiredProviderToken') {
        this.tokens.discard()
        answer = await this.post(target.token, body, message, signal)
      }
      return this.outcome(answer)
    } catch (error) {
      return networkFailure(error)
    }
  }

  async close(): Promise<void> {
    await this.connection.close()
  }

  private async post(token: string, body: string, message: PushMessage, signal: AbortSignal) {
    // A token in hand starts the request within this call: its cost is the caller's (pacer.ts).
    const jwt = this.tokens.current()
    const answer = await this.connection.post(
      `/3/device/${encodeURIComponent(token)}`,
      {
        authorization: `bearer ${typeof jwt === 'string' ? jwt : await jwt}`,
        'apns-push-type': 'alert',
        'apns-topic': this.settings.bundleId,
        'apns-collapse-id': message.messageId,
      },
      body,
      signal,
    )
    const reason = shortReason((parseJson(answer.body) as { reason?: unknown } | null)?.reason)
    return { ...answer, reason }
  }

  private outcome(answer: { status: number; headers: http2.IncomingHttpHeaders; reason: string | null }): PushResult {
    const { status, reason } = answer
    if (status === 200) return result('sent', status, null)
    // 410: the token is no longer active for the topic (Unregistered, ExpiredToken).
    if (status === 410 || (status === 400 && reason === 'BadDeviceToken')) return result('gone', status, reason ?? statusPhrase(status))
    if (isRetryable(status)) return result('retry', status, reason ?? statusPhrase(status), retryAfter(answer.headers['retry-after'], this.now()))
    return result('failed', status, reason ?? statusPhrase(status))
  }
}

/** The ES256 provider token, signed once per renewal period and shared by concurrent sends. */
class ProviderTokens {
  private cached: { jwt: string; issuedAt: number } | null = null
  private signing: Promise<string> | null = null

  constructor(
    private readonly key: KeyObject,
    private readonly settings: Pick<ApnsSettings, 'teamId' | 'keyId'>,
    private readonly now: () => number,
  ) {}

  /** The token now, or a promise of one while it is (re)signed. */
  current(): MaybePromise<string> {
    const now = this.now()
    if (this.cached && now - this.cached.issuedAt < PROVIDER_TOKEN_RENEW_MS && now >= this.cached.issuedAt) return this.cached.jwt
    this.signing ??= this.sign(now).finally(() => (this.signing = null))
    return this.signing
  }

  discard(): void {
    this.cached = null
  }

  private async sign(now: number): Promise<string> {
    const jwt = await new SignJWT({ iss: this.settings.teamId, iat: Math.floor(now / 1000) })
      .setProtectedHeader({ alg: 'ES256', kid: this.settings.keyId })
      .sign(this.key)
    this.cached = { jwt, issuedAt: now }
    return jwt
  }
}

interface Http2Answer {
  status: number
  headers: http2.IncomingHttpHeaders
  body: string
}

const MAX_ANSWER_BYTES = 16 * 1024
const PING_TIMEOUT_MS = 5000

/**
 * One HTTP/2 session to one origin, opened on first use and again whenever it has closed, gone
 * away or failed: APNs wants long-lived connections, not one per notification.
 */
class Http2Connection {
  private session: http2.ClientHttp2Session | null = null
  private closed = false

  constructor(
    private readonly origin: string,
    private readonly timeoutMs: number,
  ) {}

  async post(path: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<Http2Answer> {
    if (this.closed) throw Object.assign(new Error('closed'), { code: 'ABORT_ERR' })
    const open = () => this.current().request({ ':method': 'POST', ':path': path, ...headers }, { signal })
    let stream: http2.ClientHttp2Stream
    try {
      stream = open()
    } catch {
      // The session closed between the check and the request (GOAWAY): a fresh one, once.
      this.drop(this.session)
      stream = open()
    }
    const session = this.session
    return new Promise<Http2Answer>((resolve, reject) => {
      let status = 0
      let responseHeaders: http2.IncomingHttpHeaders = {}
      let size = 0
      const chunks: Buffer[] = []
      let settled = false
      const finish = (error: unknown, answer?: Http2Answer) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        // A stream cancelled because its session failed (connection refused, reset) carries why.
        if (error) reject(isCancel(error) && (error as Error).cause ? (error as Error).cause : error)
        else resolve(answer!)
      }
      const timer = setTimeout(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL)
        finish(new TimeoutError(this.timeoutMs))
        this.checkAlive(session)
      }, this.timeoutMs)
      stream.on('response', (received) => {
        status = Number(received[':status'])
        responseHeaders = received
      })
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size <= MAX_ANSWER_BYTES) chunks.push(chunk)
      })
      stream.on('end', () => finish(null, { status, headers: responseHeaders, body: Buffer.concat(chunks).toString('utf8') }))
      stream.on('error', (error) => finish(error))
      // Reset without an answer (e.g. REFUSED_STREAM when the server is at its stream limit).
      stream.on('close', () => finish(status ? null : Object.assign(new Error('stream reset'), { code: 'ERR_HTTP2_STREAM_ERROR' }), { status, headers: responseHeaders, body: Buffer.concat(chunks).toString('utf8') }))
      stream.end(body)
    })
  }

  async close(): Promise<void> {
    this.closed = true
    const session = this.session
    this.session = null
    if (!session || session.destroyed) return
    await new Promise<void>((resolve) => {
      // Streams in flight get a moment to finish; then the session is destroyed.
      const timer = setTimeout(() => session.destroy(), 2000)
      session.close(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  private current(): http2.ClientHttp2Session {
    const existing = this.session
    if (existing && !existing.closed && !existing.destroyed) return existing
    const session = http2.connect(this.origin)
    session.on('error', () => this.drop(session))
    session.on('goaway', () => this.drop(session))
    session.on('close', () => this.drop(session))
    // An idle session must not keep the process alive; every request has its own timer.
    session.unref()
    this.session = session
    return session
  }

  private drop(session: http2.ClientHttp2Session | null): void {
    if (session && this.session === session) this.session = null
  }

  /** After a timeout: a session that does not answer a ping is dead (e.g. a dropped NAT entry). */
  private checkAlive(session: http2.ClientHttp2Session | null): void {
    if (!session || session.destroyed) return
    const timer = setTimeout(() => destroy(), PING_TIMEOUT_MS)
    const destroy = () => {
      this.drop(session)
      session.destroy()
    }
    try {
      session.ping((error) => {
        clearTimeout(timer)
        if (error) destroy()
      })
    } catch {
      clearTimeout(timer)
      destroy()
    }
  }
}

const isCancel = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ERR_HTTP2_STREAM_CANCEL'
