/**
 * FCM HTTP v1. The tenant's service account signs an RS256 assertion (iss = client_email,
 * aud = token_uri, scope = firebase.messaging, one hour), exchanged at its `token_uri` for an
 * OAuth access token; that token is kept until a minute before it expires, and concurrent sends
 * share one exchange. Each notification is `POST {PARLEY_FCM_URL}/v1/projects/<id>/messages:send`
 * with the §10 payload and the token as Bearer. A 401 means the token died early (revoked,
 * rotated key): one fresh exchange, and the send is tried again at once.
 */
import type { KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import { invalidParam } from '../core/errors.js'
import type { MaybePromise } from '../lib/maybe-promise.js'
import { AddressGuard } from '../delivery/address-guard.js'
import { Http1Client, type HttpAnswer } from './http1.js'
import { objectAt, privateKeyAt, stringAt } from './keys.js'
import {
  fcmPayload,
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
} from './provider.js'

/** The fields of a Google service account key file that FCM needs (the rest of the file is ignored). */
export interface FcmServiceAccount {
  project_id: string
  client_email: string
  /** PEM RSA private key. */
  private_key: string
  /** Default https://oauth2.googleapis.com/token. */
  token_uri?: string
  /** Sent as the assertion's `kid` when present. */
  private_key_id?: string
}

/** Settings as stored (decrypted) per tenant and environment. */
export interface FcmSettings {
  serviceAccount: FcmServiceAccount
}

export interface FcmOptions {
  /** PARLEY_FCM_URL (default https://fcm.googleapis.com), without a trailing slash. */
  baseUrl: string
  /**
   * The address rules for the tenant's `token_uri` (the webhook guard, PARLEY_WEBHOOK_ALLOW_PRIVATE
   * included). Absent: public addresses only.
   */
  guard?: AddressGuard
  now?: () => number
  timeoutMs?: number
}

export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token'
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging'
/** An access token is not used in its last minute (clock skew, a send that takes a while). */
export const ACCESS_TOKEN_MARGIN_MS = 60_000
const ASSERTION_LIFETIME_S = 3600

const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9.:_-]{0,99}$/
const EMAIL = /^[^\s@]+@[^\s@]+$/
const KEY_ID = /^[A-Za-z0-9_-]{1,200}$/

/** The settings of a `PUT /v1/push/providers/fcm`, checked (throws ApiError validation_failed). */
export function validateFcmSettings(value: unknown): FcmSettings {
  const account = objectAt(objectAt(value, 'body').serviceAccount, 'serviceAccount')
  const where = "from the service account's JSON key file (Firebase console → Project settings → Service accounts)"
  const project_id = stringAt(account, 'project_id', 'serviceAccount.project_id', PROJECT_ID, `the Firebase project id ${where}`)
  const client_email = stringAt(account, 'client_email', 'serviceAccount.client_email', EMAIL, `the service account's e-mail address ${where}`)
  const private_key = account.private_key as string
  privateKeyAt(private_key, 'serviceAccount.private_key', 'rsa', `the private_key ${where}, "\\n" line breaks included`)
  const settings: FcmSettings = { serviceAccount: { project_id, client_email, private_key } }
  if (account.token_uri !== undefined) {
    const uri = stringAt(account, 'token_uri', 'serviceAccount.token_uri', /^https?:\/\/\S+$/, `an http(s) URL (${GOOGLE_TOKEN_URI} for Google's service accounts)`)
    try {
      new URL(uri)
    } catch {
      throw invalidParam('serviceAccount.token_uri', 'must be an absolute http(s) URL')
    }
    settings.serviceAccount.token_uri = uri
  }
  if (typeof account.private_key_id === 'string' && KEY_ID.test(account.private_key_id)) settings.serviceAccount.private_key_id = account.private_key_id
  return settings
}

export function createFcmProvider(settings: FcmSettings, options: FcmOptions): PushProvider {
  return new FcmProvider(validateFcmSettings(settings), options)
}

class FcmProvider implements PushProvider {
  readonly type = 'fcm' as const
  private readonly now: () => number
  /** messages:send, at PARLEY_FCM_URL (configuration: not subject to the address rules). */
  private readonly api: Http1Client
  private readonly tokens: AccessTokens
  private readonly sendUrl: URL

  constructor(settings: FcmSettings, options: FcmOptions) {
    this.now = options.now ?? Date.now
    const timeoutMs = options.timeoutMs ?? PUSH_TIMEOUT_MS
    this.api = new Http1Client(null, timeoutMs)
    const guard = options.guard ?? new AddressGuard({ allowPrivate: false })
    this.tokens = new AccessTokens(settings.serviceAccount, new Http1Client(guard, timeoutMs), this.now)
    this.sendUrl = new URL(`${options.baseUrl.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(settings.serviceAccount.project_id)}/messages:send`)
  }

  payload(message: PushMessage, target: PushTarget): unknown {
    return fcmPayload(message, target.token ?? '')
  }

  async send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<PushResult> {
    if (!target.token) return result('failed', null, 'no device token')
    const body = JSON.stringify(fcmPayload(message, target.token))
    try {
      // A token in hand starts the request within this call: its cost is the caller's (pacer.ts).
      const current = this.tokens.current()
      let token = typeof current === 'string' ? current : await current
      let answer = await this.post(token, body, signal)
      if (answer.status === 401) {
        token = await this.tokens.refresh(token)
        answer = await this.post(token, body, signal)
      }
      return this.outcome(answer)
    } catch (error) {
      return error instanceof TokenExchangeFailed ? error.result : networkFailure(error)
    }
  }

  async close(): Promise<void> {
    this.tokens.close()
    this.api.close()
  }

  private post(token: string, body: string, signal: AbortSignal): Promise<HttpAnswer> {
    return this.api.post(this.sendUrl, body, { 'content-type': 'application/json', authorization: `Bearer ${token}` }, signal)
  }

  private outcome(answer: HttpAnswer): PushResult {
    const { status } = answer
    if (status >= 200 && status < 300) return result('sent', status, null)
    const error = readError(answer.body)
    const reason = error.code ?? statusPhrase(status)
    if (status === 404 && error.code === 'UNREGISTERED') return result('gone', status, 'UNREGISTERED')
    if (status === 400 && error.code === 'INVALID_ARGUMENT' && error.namesToken) return result('gone', status, 'INVALID_ARGUMENT')
    if (isRetryable(status)) return result('retry', status, reason, retryAfter(answer.headers['retry-after'], this.now()))
    return result('failed', status, reason)
  }
}

interface FcmErrorBody {
  error?: {
    message?: unknown
    status?: unknown
    details?: Array<{ errorCode?: unknown; fieldViolations?: Array<{ field?: unknown }> }>
  }
}

/**
 * FCM's error: its FcmError errorCode (UNREGISTERED, INVALID_ARGUMENT, QUOTA_EXCEEDED, …) or
 * else the Google API status, and whether the complaint is about the registration token.
 */
function readError(text: string): { code: string | null; namesToken: boolean } {
  const error = (parseJson(text) as FcmErrorBody | null)?.error
  if (!error || typeof error !== 'object') return { code: null, namesToken: false }
  const details = Array.isArray(error.details) ? error.details : []
  const code = shortReason(details.find((detail) => typeof detail?.errorCode === 'string')?.errorCode) ?? shortReason(error.status)
  const namesToken =
    details.some((detail) => Array.isArray(detail?.fieldViolations) && detail.fieldViolations.some((violation) => violation?.field === 'message.token')) ||
    (typeof error.message === 'string' && /registration token/i.test(error.message))
  return { code, namesToken }
}

/** A token exchange that did not give a token: the outcome of every send that waited for it. */
class TokenExchangeFailed extends Error {
  constructor(readonly result: PushResult) {
    super(result.reason ?? 'token exchange failed')
  }
}

/** The OAuth access token: one exchange at a time, reused until ACCESS_TOKEN_MARGIN_MS before it expires. */
class AccessTokens {
  private cached: { token: string; expiresAt: number } | null = null
  private exchanging: Promise<string> | null = null
  private readonly key: KeyObject
  private readonly tokenUri: URL
  /** The assertion's aud: the token_uri exactly as the key file has it. */
  private readonly audience: string
  /** An exchange serves many sends, so no one send's signal may cancel it: only close() does. */
  private readonly stop = new AbortController()

  constructor(
    private readonly account: FcmServiceAccount,
    private readonly client: Http1Client,
    private readonly now: () => number,
  ) {
    this.key = privateKeyAt(account.private_key, 'serviceAccount.private_key', 'rsa', 'the service account key')
    this.audience = account.token_uri ?? GOOGLE_TOKEN_URI
    this.tokenUri = new URL(this.audience)
  }

  /** The access token now, or a promise of one while it is exchanged. */
  current(): MaybePromise<string> {
    if (this.cached && this.now() < this.cached.expiresAt - ACCESS_TOKEN_MARGIN_MS) return this.cached.token
    this.exchanging ??= this.exchange().finally(() => (this.exchanging = null))
    return this.exchanging
  }

  /** `stale` was refused: exchange again, unless a concurrent send already did. */
  refresh(stale: string): MaybePromise<string> {
    if (this.cached?.token === stale) this.cached = null
    return this.current()
  }

  close(): void {
    this.stop.abort()
    this.client.close()
  }

  private async exchange(): Promise<string> {
    const now = this.now()
    const iat = Math.floor(now / 1000)
    const assertion = await new SignJWT({ scope: FCM_SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(this.account.private_key_id ? { kid: this.account.private_key_id } : {}) })
      .setIssuer(this.account.client_email)
      .setAudience(this.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ASSERTION_LIFETIME_S)
      .sign(this.key)
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString()
    let answer: HttpAnswer
    try {
      answer = await this.client.post(this.tokenUri, form, { 'content-type': 'application/x-www-form-urlencoded' }, this.stop.signal)
    } catch (error) {
      const failure = networkFailure(error)
      throw new TokenExchangeFailed({ ...failure, reason: `token endpoint: ${failure.reason}` })
    }
    const body = parseJson(answer.body) as { access_token?: unknown; expires_in?: unknown; error?: unknown } | null
    if (answer.status !== 200) {
      const reason = `token endpoint: ${shortReason(body?.error) ?? statusPhrase(answer.status)}`
      const outcome = isRetryable(answer.status) ? 'retry' : 'failed'
      throw new TokenExchangeFailed(result(outcome, answer.status, reason, outcome === 'retry' ? retryAfter(answer.headers['retry-after'], this.now()) : null))
    }
    if (typeof body?.access_token !== 'string' || body.access_token === '') {
      throw new TokenExchangeFailed(result('retry', answer.status, 'token endpoint: answer without an access_token'))
    }
    const lifetimeS = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600
    this.cached = { token: body.access_token, expiresAt: now + lifetimeS * 1000 }
    return body.access_token
  }
}
