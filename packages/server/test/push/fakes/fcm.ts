/**
 * A local FCM: the OAuth token endpoint a service account's `token_uri` points at (it verifies the
 * RS256 assertion with the account's public key and issues access tokens with `expires_in`) and
 * the HTTP v1 `messages:send`, which checks the Bearer token, records the message and answers as
 * the test says (200, 404 UNREGISTERED, 400 INVALID_ARGUMENT, 503, 429, …).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { jwtVerify } from 'jose'
import { Answers, parseJson, readBody, sleep, waitForCount } from './common.js'

export interface FcmAnswer {
  status: number
  body?: unknown
  retryAfter?: string
  delayMs?: number
}

/** FCM's real error shapes (google.rpc.Status with an FcmError detail). */
const fcmError = (code: number, status: string, message: string, errorCode?: string, extra: object[] = []) => ({
  error: {
    code,
    message,
    status,
    details: [...(errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : []), ...extra],
  },
})

export const FCM_ANSWERS = {
  ok: { status: 200 },
  unregistered: { status: 404, body: fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED') },
  invalidToken: {
    status: 400,
    body: fcmError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT', [
      { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'message.token', description: 'Invalid registration token' }] },
    ]),
  },
  /** INVALID_ARGUMENT about something else than the token: the device is not to blame. */
  invalidPayload: {
    status: 400,
    body: fcmError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.', 'INVALID_ARGUMENT', [
      { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'message.data', description: 'Invalid value' }] },
    ]),
  },
  senderIdMismatch: { status: 403, body: fcmError(403, 'PERMISSION_DENIED', 'SenderId mismatch', 'SENDER_ID_MISMATCH') },
  unavailable: { status: 503, body: fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE') },
  tooMany: (retryAfterSeconds = 1): FcmAnswer => ({
    status: 429,
    retryAfter: String(retryAfterSeconds),
    body: fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.', 'QUOTA_EXCEEDED'),
  }),
} satisfies Record<string, FcmAnswer | ((...args: never[]) => FcmAnswer)>

export interface FcmRequest {
  /** The message's registration token. */
  deviceToken: string
  headers: http.IncomingHttpHeaders
  body: any
  /** Which access token authorised it. */
  accessToken: string | null
  status: number
  at: number
}

export interface TokenRequest {
  /** The assertion's claims when it verified. */
  claims: Record<string, unknown> | null
  header: Record<string, unknown> | null
  /** The access token issued, or why none was. */
  issued: string | null
  refused: string | null
}

export interface FcmFakeOptions {
  /** The public half of the service account's private_key. */
  publicKey: KeyObject
  clientEmail: string
  projectId: string
  /** The `expires_in` of issued access tokens (default 3600). */
  accessTokenTtlSeconds?: number
  /** The fake's clock: when its access tokens expire. */
  now?: () => number
}

export interface FcmFake {
  /** For PARLEY_FCM_URL / the provider's baseUrl. */
  url: string
  /** For the service account's token_uri. */
  tokenUri: string
  requests: FcmRequest[]
  tokenRequests: TokenRequest[]
  answers: Answers<FcmAnswer>
  /** Answers for the next token requests instead of a token (e.g. 503, or 400 invalid_grant). */
  tokenAnswers: FcmAnswer[]
  /** Every access token issued so far stops working (their holders get 401). */
  revokeAccessTokens(): void
  delivered(): FcmRequest[]
  waitFor(count: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** A service account key file's fields, with a fresh RSA key, and the public key for the fake. */
export function makeServiceAccount(projectId = 'parley-test', clientEmail = `firebase-adminsdk@${projectId}.iam.gserviceaccount.com`) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  return {
    serviceAccount: { project_id: projectId, client_email: clientEmail, private_key: pem, private_key_id: randomBytes(20).toString('hex') },
    publicKey: createPublicKey(createPrivateKey(pem)),
  }
}

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging'

export async function startFcmFake(options: FcmFakeOptions): Promise<FcmFake> {
  const now = options.now ?? Date.now
  const ttlSeconds = options.accessTokenTtlSeconds ?? 3600
  const live = new Map<string, number>() // access token → expires at (fake clock, ms)

  const server = http.createServer((request, response) => {
    void handle(request, response).catch(() => response.destroy())
  })
  const fake: FcmFake = {
    url: '',
    tokenUri: '',
    requests: [],
    tokenRequests: [],
    answers: new Answers<FcmAnswer>(FCM_ANSWERS.ok),
    tokenAnswers: [],
    revokeAccessTokens: () => live.clear(),
    delivered: () => fake.requests.filter((r) => r.status === 200),
    waitFor: (count, timeoutMs = 10_000) => waitForCount(fake.requests, count, timeoutMs, 'FCM fake'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }

  const reply = async (response: http.ServerResponse, answer: FcmAnswer) => {
    if (answer.delayMs) await sleep(answer.delayMs)
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (answer.retryAfter) headers['retry-after'] = answer.retryAfter
    response.writeHead(answer.status, headers).end(answer.body === undefined ? '{}' : JSON.stringify(answer.body))
  }

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const raw = await readBody(request)
    if (request.method === 'POST' && request.url === '/token') return reply(response, await token(request, raw))
    const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(request.url ?? '')
    if (request.method !== 'POST' || !send) return reply(response, { status: 404, body: fcmError(404, 'NOT_FOUND', 'Not found') })

    const body = parseJson(raw)
    const accessToken = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1] ?? null
    const expiresAt = accessToken ? live.get(accessToken) : undefined
    const deviceToken = typeof body?.message?.token === 'string' ? body.message.token : ''
    let answer: FcmAnswer
    if (expiresAt === undefined || now() >= expiresAt) {
      answer = { status: 401, body: fcmError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.') }
    } else if (decodeURIComponent(send[1]!) !== options.projectId) {
      answer = FCM_ANSWERS.senderIdMismatch
    } else if (request.headers['content-type'] !== 'application/json' || !deviceToken) {
      answer = FCM_ANSWERS.invalidPayload
    } else {
      answer = fake.answers.for(deviceToken)
    }
    fake.requests.push({ deviceToken, headers: request.headers, body, accessToken, status: answer.status, at: Date.now() })
    return reply(response, answer)
  }

  /** The OAuth 2.0 JWT bearer grant (RFC 7523), as Google's token endpoint runs it. */
  async function token(request: http.IncomingMessage, raw: Buffer): Promise<FcmAnswer> {
    const record: TokenRequest = { claims: null, header: null, issued: null, refused: null }
    fake.tokenRequests.push(record)
    const refuse = (error: string): FcmAnswer => {
      record.refused = error
      return { status: 400, body: { error, error_description: 'refused by the FCM fake' } }
    }
    const queued = fake.tokenAnswers.shift()
    if (queued) {
      record.refused = `told to answer ${queued.status}`
      return queued
    }
    if (request.headers['content-type'] !== 'application/x-www-form-urlencoded') return refuse('invalid_request')
    const form = new URLSearchParams(raw.toString('utf8'))
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('unsupported_grant_type')
    try {
      const { payload, protectedHeader } = await jwtVerify(form.get('assertion') ?? '', options.publicKey, {
        algorithms: ['RS256'],
        issuer: options.clientEmail,
        audience: fake.tokenUri,
        currentDate: new Date(now()),
        requiredClaims: ['iat', 'exp'],
      })
      record.claims = payload
      record.header = protectedHeader as Record<string, unknown>
      if (payload.scope !== FCM_SCOPE) return refuse('invalid_scope')
      if (payload.exp! - payload.iat! > 3600) return refuse('invalid_grant')
    } catch {
      return refuse('invalid_grant')
    }
    const accessToken = `ya29.fake-${randomBytes(24).toString('base64url')}`
    live.set(accessToken, now() + ttlSeconds * 1000)
    record.issued = accessToken
    return { status: 200, body: { access_token: accessToken, expires_in: ttlSeconds, token_type: 'Bearer' } }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  fake.tokenUri = `${fake.url}/token`
  return fake
}
