/**
 * A local Web Push service: the endpoint of test subscriptions. It checks a request as a push
 * service does — the VAPID authorization (RFC 8292: the JWT verified with the `k` key, which must
 * be the application server key the subscription was made with, `aud` = this origin, `exp` within
 * 24 hours), `TTL`, `Content-Encoding: aes128gcm` — then DECRYPTS the body with the subscription's
 * private key, using http_ece (an independent RFC 8188/8291 implementation, not Parley's), records
 * the plaintext, and answers as the test says (201, 404, 410, 429, …).
 */
import { createECDH, createPublicKey, type ECDH, type KeyObject, randomBytes, randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import ece from 'http_ece'
import { jwtVerify } from 'jose'
import { Answers, readBody, sleep, waitForCount } from './common.js'

export interface WebPushAnswer {
  status: number
  retryAfter?: string
  delayMs?: number
}

export const WEBPUSH_ANSWERS = {
  created: { status: 201 },
  notFound: { status: 404 },
  gone: { status: 410 },
  tooMany: (retryAfterSeconds = 1): WebPushAnswer => ({ status: 429, retryAfter: String(retryAfterSeconds) }),
  unavailable: { status: 503 },
  payloadTooLarge: { status: 413 },
} satisfies Record<string, WebPushAnswer | ((...args: never[]) => WebPushAnswer)>

/** A browser's subscription: what it hands to the application, and the private half it keeps. */
export interface TestSubscription {
  id: string
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } }
  /** The user agent's ECDH key pair (private key included). */
  userAgent: ECDH
  authSecret: Buffer
}

export interface WebPushRequest {
  subscriptionId: string
  headers: http.IncomingHttpHeaders
  /** The body as it arrived (encrypted). */
  raw: Buffer
  /** The decrypted body, and its JSON. */
  plaintext: string | null
  payload: any
  /** The VAPID token's claims when it verified. */
  vapid: Record<string, unknown> | null
  status: number
  /** Why the fake refused it, when it did on its own account. */
  refused: string | null
  at: number
}

export interface WebPushReceiverOptions {
  /** The application server key (base64url uncompressed point) subscriptions are made with. */
  vapidPublicKey: string
  now?: () => number
}

export interface WebPushReceiver {
  /** This push service's origin (the VAPID `aud`). */
  origin: string
  requests: WebPushRequest[]
  answers: Answers<WebPushAnswer>
  /** A new subscription on this service (as PushManager.subscribe would make). */
  subscribe(): TestSubscription
  delivered(): WebPushRequest[]
  waitFor(count: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

const MAX_VAPID_LIFETIME_S = 24 * 3600

/** The public key of a base64url uncompressed P-256 point. */
export function publicKeyOfPoint(point: string): KeyObject {
  const bytes = Buffer.from(point, 'base64url')
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: bytes.subarray(1, 33).toString('base64url'), y: bytes.subarray(33, 65).toString('base64url') },
    format: 'jwk',
  })
}

export async function startWebPushReceiver(options: WebPushReceiverOptions): Promise<WebPushReceiver> {
  const now = options.now ?? Date.now
  const vapidKey = publicKeyOfPoint(options.vapidPublicKey)
  const subscriptions = new Map<string, TestSubscription>()

  const server = http.createServer((request, response) => {
    void handle(request, response).catch(() => response.destroy())
  })
  const receiver: WebPushReceiver = {
    origin: '',
    requests: [],
    answers: new Answers<WebPushAnswer>(WEBPUSH_ANSWERS.created),
    subscribe() {
      const userAgent = createECDH('prime256v1')
      userAgent.generateKeys()
      const authSecret = randomBytes(16)
      const id = randomUUID()
      const subscription: TestSubscription = {
        id,
        subscription: { endpoint: `${receiver.origin}/push/${id}`, keys: { p256dh: userAgent.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') } },
        userAgent,
        authSecret,
      }
      subscriptions.set(id, subscription)
      return subscription
    },
    delivered: () => receiver.requests.filter((r) => r.status >= 200 && r.status < 300),
    waitFor: (count, timeoutMs = 10_000) => waitForCount(receiver.requests, count, timeoutMs, 'Web Push receiver'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }

  /** RFC 8292 §3–4: why the authorization is refused (401, or 403 for the wrong key), or null. */
  async function checkVapid(header: string | undefined, record: WebPushRequest): Promise<{ status: number; why: string } | null> {
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '')
    if (!match) return { status: 401, why: 'no vapid authorization' }
    if (match[2] !== options.vapidPublicKey) return { status: 403, why: 'k is not the key the subscription was made with' }
    try {
      const { payload } = await jwtVerify(match[1]!, vapidKey, { algorithms: ['ES256'], audience: receiver.origin, currentDate: new Date(now()), requiredClaims: ['exp'] })
      record.vapid = payload
      if (payload.exp! - now() / 1000 > MAX_VAPID_LIFETIME_S) return { status: 401, why: 'exp more than 24 hours ahead' }
      if (typeof payload.sub !== 'string' || !/^(mailto:|https:)/.test(payload.sub)) return { status: 401, why: 'sub is not a mailto: or https: URI' }
    } catch (error) {
      return { status: 401, why: `vapid token: ${(error as Error).message}` }
    }
    return null
  }

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const raw = await readBody(request)
    const id = /^\/push\/([^/]+)$/.exec(request.url ?? '')?.[1] ?? ''
    const record: WebPushRequest = { subscriptionId: id, headers: request.headers, raw, plaintext: null, payload: null, vapid: null, status: 0, refused: null, at: Date.now() }
    receiver.requests.push(record)
    const subscription = subscriptions.get(id)
    const refusal =
      request.method !== 'POST' ? { status: 405, why: 'not a POST' }
      : !subscription ? { status: 404, why: 'no such subscription' }
      : await checkVapid(request.headers.authorization, record) ??
        (!/^\d+$/.test(String(request.headers.ttl ?? '')) ? { status: 400, why: 'no TTL header' }
        : request.headers['content-encoding'] !== 'aes128gcm' ? { status: 415, why: 'not aes128gcm' }
        : decrypt(subscription, record))
    const answer = refusal ? { status: refusal.status } : receiver.answers.for(id)
    record.status = answer.status
    record.refused = refusal?.why ?? null
    if (answer.delayMs) await sleep(answer.delayMs)
    response.writeHead(answer.status, answer.retryAfter ? { 'retry-after': answer.retryAfter } : {}).end()
  }

  function decrypt(subscription: TestSubscription, record: WebPushRequest): { status: number; why: string } | null {
    try {
      record.plaintext = ece.decrypt(record.raw, { version: 'aes128gcm', privateKey: subscription.userAgent, authSecret: subscription.authSecret }).toString('utf8')
    } catch (error) {
      return { status: 400, why: `does not decrypt: ${(error as Error).message}` }
    }
    try {
      record.payload = JSON.parse(record.plaintext)
    } catch {
      return { status: 400, why: 'plaintext is not JSON' }
    }
    return null
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return receiver
}
