/**
 * A local APNs: an HTTP/2 server without TLS (h2c, reached through PARLEY_APNS_URL=http://…) that
 * checks requests as Apple does — the ES256 provider token verified with the tenant's public key,
 * its kid, iss and age; `apns-topic` against the bundle id; `apns-push-type` — records each
 * request, and answers as the test says (200, 410 Unregistered, 400 BadDeviceToken, 429, …).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import { Answers, parseJson, readBody, sleep, waitForCount } from './common.js'

export interface ApnsAnswer {
  status: number
  /** The JSON body's `reason` (Apple's error string). */
  reason?: string
  /** A Retry-After header (Apple sends none today; a gateway might). */
  retryAfter?: string
  delayMs?: number
}

export const APNS_ANSWERS = {
  ok: { status: 200 },
  unregistered: { status: 410, reason: 'Unregistered' },
  badDeviceToken: { status: 400, reason: 'BadDeviceToken' },
  tooMany: (retryAfterSeconds = 1): ApnsAnswer => ({ status: 429, reason: 'TooManyRequests', retryAfter: String(retryAfterSeconds) }),
  unavailable: { status: 503, reason: 'ServiceUnavailable' },
  payloadTooLarge: { status: 413, reason: 'PayloadTooLarge' },
} satisfies Record<string, ApnsAnswer | ((...args: never[]) => ApnsAnswer)>

export interface ApnsRequest {
  deviceToken: string
  headers: http2.IncomingHttpHeaders
  /** The JSON body. */
  body: any
  /** The provider token's claims, when it verified. */
  claims: { iss?: unknown; iat?: unknown } | null
  /** Which HTTP/2 session (1, 2, …) carried it. */
  session: number
  /** What the fake answered. */
  status: number
  reason: string | null
  at: number
}

export interface ApnsFakeOptions {
  /** The public half of the tenant's .p8 key. */
  publicKey: KeyObject
  teamId: string
  keyId: string
  bundleId: string
  /** The fake's clock for the token's age (Apple refuses a token issued over an hour ago). */
  now?: () => number
}

export interface ApnsFake {
  /** For PARLEY_APNS_URL / the provider's baseUrl. */
  url: string
  requests: ApnsRequest[]
  answers: Answers<ApnsAnswer>
  /** HTTP/2 sessions opened so far, and still open. */
  sessionsOpened: number
  sessionsOpen: number
  /** Requests answered 200. */
  delivered(): ApnsRequest[]
  waitFor(count: number, timeoutMs?: number): Promise<void>
  /** Closes every session at once (a provider must open a new one on its next request). */
  dropSessions(): void
  close(): Promise<void>
}

/** A new APNs auth key, as Apple would let the tenant download it: the .p8 PEM, and its public key for the fake. */
export function makeApnsKey(): { privateKey: string; publicKey: KeyObject } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  return { privateKey: pem, publicKey: createPublicKey(createPrivateKey(pem)) }
}

const TOKEN_MAX_AGE_S = 3600

export async function startApnsFake(options: ApnsFakeOptions): Promise<ApnsFake> {
  const now = options.now ?? Date.now
  const sessions = new Set<http2.ServerHttp2Session>()
  const sessionIds = new WeakMap<http2.ServerHttp2Session, number>()
  const verified = new Map<string, { iss?: unknown; iat?: unknown }>()

  /** Apple's checks, in Apple's order; null when the token is good. */
  async function refuseToken(authorization: string | undefined): Promise<{ reason: string; claims: ApnsRequest['claims'] }> {
    const jwt = /^bearer (\S+)$/i.exec(authorization ?? '')?.[1]
    if (!jwt) return { reason: 'MissingProviderToken', claims: null }
    let claims = verified.get(jwt) ?? null
    if (!claims) {
      try {
        if (decodeProtectedHeader(jwt).kid !== options.keyId) return { reason: 'InvalidProviderToken', claims: null }
        // Age is judged below with the fake's clock, so jose is told not to judge time at all.
        const { payload } = await jwtVerify(jwt, options.publicKey, { algorithms: ['ES256'], issuer: options.teamId, currentDate: new Date(0) })
        claims = { iss: payload.iss, iat: payload.iat }
        verified.set(jwt, claims)
      } catch {
        return { reason: 'InvalidProviderToken', claims: null }
      }
    }
    if (typeof claims.iat !== 'number') return { reason: 'InvalidProviderToken', claims }
    if (now() / 1000 - claims.iat > TOKEN_MAX_AGE_S) return { reason: 'ExpiredProviderToken', claims }
    return { reason: '', claims }
  }

  const server = http2.createServer()
  const fake: ApnsFake = {
    url: '',
    requests: [],
    answers: new Answers<ApnsAnswer>(APNS_ANSWERS.ok),
    sessionsOpened: 0,
    get sessionsOpen() {
      return sessions.size
    },
    delivered: () => fake.requests.filter((r) => r.status === 200),
    waitFor: (count, timeoutMs = 10_000) => waitForCount(fake.requests, count, timeoutMs, 'APNs fake'),
    dropSessions() {
      for (const session of sessions) session.destroy()
    },
    close: () =>
      new Promise<void>((resolve) => {
        fake.dropSessions()
        server.close(() => resolve())
      }),
  }

  server.on('session', (session) => {
    sessionIds.set(session, ++fake.sessionsOpened)
    sessions.add(session)
    session.on('close', () => sessions.delete(session))
    session.on('error', () => undefined)
  })
  server.on('stream', (stream, headers) => {
    void handle(stream, headers, sessionIds.get(stream.session as http2.ServerHttp2Session) ?? 0).catch(() => stream.destroy())
  })

  async function handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, session: number): Promise<void> {
    const raw = await readBody(stream)
    const path = String(headers[':path'])
    const deviceToken = decodeURIComponent(/^\/3\/device\/([^/?]+)$/.exec(path)?.[1] ?? '')
    const token = await refuseToken(headers.authorization as string | undefined)
    const body = parseJson(raw)
    let answer: ApnsAnswer
    if (headers[':method'] !== 'POST') answer = { status: 405, reason: 'MethodNotAllowed' }
    else if (!deviceToken) answer = { status: 404, reason: 'BadPath' }
    else if (token.reason) answer = { status: 403, reason: token.reason }
    else if (!headers['apns-topic']) answer = { status: 400, reason: 'MissingTopic' }
    else if (headers['apns-topic'] !== options.bundleId) answer = { status: 400, reason: 'TopicDisallowed' }
    else if (headers['apns-push-type'] !== 'alert') answer = { status: 400, reason: 'InvalidPushType' }
    else if (String(headers['apns-collapse-id'] ?? '').length > 64) answer = { status: 400, reason: 'BadCollapseId' }
    else if (raw.length === 0) answer = { status: 400, reason: 'PayloadEmpty' }
    else if (raw.length > 4096) answer = { status: 413, reason: 'PayloadTooLarge' }
    else if (body === null || typeof body.aps !== 'object') answer = { status: 400, reason: 'BadPayload' }
    else answer = fake.answers.for(deviceToken)

    fake.requests.push({
      deviceToken,
      headers,
      body,
      claims: token.claims,
      session,
      status: answer.status,
      reason: answer.reason ?? null,
      at: Date.now(),
    })
    if (answer.delayMs) await sleep(answer.delayMs)
    if (stream.destroyed) return
    stream.respond({
      ':status': answer.status,
      'apns-id': randomUUID(),
      ...(answer.reason ? { 'content-type': 'application/json' } : {}),
      ...(answer.retryAfter ? { 'retry-after': answer.retryAfter } : {}),
    })
    stream.end(answer.reason ? JSON.stringify({ reason: answer.reason }) : undefined)
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}
