/**
 * Web Push (RFC 8030) to a browser's subscription: the §10 JSON, encrypted for the subscription
 * (RFC 8291, ece.ts), POSTed to its endpoint with a VAPID authorization (RFC 8292, vapid.ts).
 * The endpoint is chosen by whoever registered the device, so the request goes through the same
 * address rules as webhooks (delivery/http-post.ts with the address guard).
 */
import { createECDH } from 'node:crypto'
import { invalidParam } from '../core/errors.js'
import type { AddressGuard } from '../delivery/address-guard.js'
import { HttpPoster } from '../delivery/http-post.js'
import { BadSubscriptionKeys, encryptWebPush } from './ece.js'
import { objectAt } from './keys.js'
import {
  isRetryable,
  PUSH_TIMEOUT_MS,
  PUSH_USER_AGENT,
  type PushMessage,
  type PushProvider,
  type PushResult,
  type PushTarget,
  result,
  retryAfter,
  statusPhrase,
  type WebPushSubscription,
  webPushPayload,
} from './provider.js'
import { generateVapidKeys, VapidAuthorizations, vapidSigningKey } from './vapid.js'

export { generateVapidKeys }

/** Settings as stored (decrypted) per tenant and environment. Keys as generateVapidKeys makes them. */
export interface WebPushSettings {
  /** "mailto:…" or "https://…": whom the push service may contact about this sender. */
  subject: string
  /** base64url uncompressed P-256 point (65 bytes): the browsers' applicationServerKey. */
  publicKey: string
  /** base64url P-256 private scalar (32 bytes). */
  privateKey: string
}

export interface WebPushOptions {
  /** The webhook address guard (PARLEY_WEBHOOK_ALLOW_PRIVATE lets tests use 127.0.0.1 receivers). */
  guard: AddressGuard
  now?: () => number
  timeoutMs?: number
  /** How long the push service keeps a notification for an offline browser. */
  ttlSeconds?: number
}

/** A day: a chat notification older than that is noise. */
export const WEB_PUSH_TTL_SECONDS = 24 * 3600

/** The `subject` of a `PUT /v1/push/providers/webpush`, checked (throws ApiError validation_failed). */
export function validateWebPushSubject(value: unknown): string {
  const expected = 'a "mailto:" address or an "https://" URL where the push service can reach you'
  if (typeof value !== 'string' || value === '') throw invalidParam('subject', `is required (${expected})`)
  if (value.length > 512) throw invalidParam('subject', 'must be at most 512 characters')
  if (/^mailto:[^\s@]+@[^\s@]+$/.test(value)) return value
  if (/^https:\/\/\S+$/.test(value) && URL.canParse(value)) return value
  throw invalidParam('subject', `must be ${expected}`)
}

/** Stored Web Push settings, checked (the key pair must be a pair). */
export function validateWebPushSettings(value: unknown): WebPushSettings {
  const fields = objectAt(value, 'body')
  const subject = validateWebPushSubject(fields.subject)
  vapidSigningKey(String(fields.publicKey ?? ''), String(fields.privateKey ?? ''))
  return { subject, publicKey: fields.publicKey as string, privateKey: fields.privateKey as string }
}

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/

/**
 * What is wrong with a subscription a browser handed over (PushSubscription.toJSON()), or null.
 * The address rules for the endpoint are the caller's to apply (AddressGuard.refusal).
 */
export function webPushSubscriptionProblem(subscription: WebPushSubscription): string | null {
  const { endpoint, keys } = subscription
  if (typeof endpoint !== 'string' || endpoint.length > 2048 || !/^https?:\/\//.test(endpoint) || !URL.canParse(endpoint)) {
    return 'subscription.endpoint must be the http(s) URL of the subscription (at most 2048 characters)'
  }
  const p256dh = typeof keys?.p256dh === 'string' && BASE64URL.test(keys.p256dh) ? Buffer.from(keys.p256dh, 'base64url') : null
  if (!p256dh || p256dh.length !== 65 || p256dh[0] !== 0x04 || !onCurve(p256dh)) {
    return 'subscription.keys.p256dh must be the base64url P-256 public key of the subscription (65 bytes)'
  }
  const auth = typeof keys?.auth === 'string' && BASE64URL.test(keys.auth) ? Buffer.from(keys.auth, 'base64url') : null
  if (!auth || auth.length !== 16) return 'subscription.keys.auth must be the base64url authentication secret of the subscription (16 bytes)'
  return null
}

function onCurve(point: Buffer): boolean {
  const probe = createECDH('prime256v1')
  probe.generateKeys()
  try {
    probe.computeSecret(point)
    return true
  } catch {
    return false
  }
}

export function createWebPushProvider(settings: WebPushSettings, options: WebPushOptions): PushProvider {
  return new WebPushProvider(validateWebPushSettings(settings), options)
}

class WebPushProvider implements PushProvider {
  readonly type = 'webpush' as const
  private readonly now: () => number
  private readonly poster: HttpPoster
  private readonly vapid: VapidAuthorizations
  private readonly ttlSeconds: number

  constructor(settings: WebPushSettings, options: WebPushOptions) {
    this.now = options.now ?? Date.now
    this.poster = new HttpPoster(options.guard, options.timeoutMs ?? PUSH_TIMEOUT_MS, PUSH_USER_AGENT)
    this.vapid = new VapidAuthorizations(vapidSigningKey(settings.publicKey, settings.privateKey), settings.publicKey, settings.subject, this.now)
    this.ttlSeconds = options.ttlSeconds ?? WEB_PUSH_TTL_SECONDS
  }

  payload(message: PushMessage): unknown {
    return webPushPayload(message)
  }

  async send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<PushResult> {
    const subscription = target.subscription
    if (!subscription) return result('failed', null, 'no subscription')
    const endpoint = URL.canParse(subscription.endpoint) ? new URL(subscription.endpoint) : null
    if (!endpoint || (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:')) return result('failed', null, 'the subscription endpoint is not an http(s) URL')
    let body: Buffer
    try {
      const plaintext = Buffer.from(JSON.stringify(webPushPayload(message)))
      body = encryptWebPush(plaintext, Buffer.from(subscription.keys.p256dh, 'base64url'), Buffer.from(subscription.keys.auth, 'base64url'))
    } catch (error) {
      return result('failed', null, error instanceof BadSubscriptionKeys ? `bad subscription keys: ${error.message}` : 'payload too large for Web Push')
    }
    // A header in hand starts the request within this call: its cost is the caller's (pacer.ts).
    const authorization = this.vapid.header(endpoint)
    const answer = await this.poster.post(
      endpoint,
      body,
      {
        Authorization: typeof authorization === 'string' ? authorization : await authorization,
        TTL: String(this.ttlSeconds),
        'Content-Encoding': 'aes128gcm',
        'Content-Type': 'application/octet-stream',
        Urgency: 'high',
      },
      signal,
    )
    const { status } = answer
    // No answer: worth retrying, except a destination the address rules refuse.
    if (status === null) return result(answer.error?.startsWith('address not allowed') ? 'failed' : 'retry', null, answer.error)
    if (status === 200 || status === 201 || status === 202) return result('sent', status, null)
    if (status === 404 || status === 410) return result('gone', status, statusPhrase(status))
    if (isRetryable(status)) return result('retry', status, statusPhrase(status), retryAfter(answer.retryAfter, this.now()))
    return result('failed', status, statusPhrase(status))
  }

  async close(): Promise<void> {
    this.poster.close()
  }
}
