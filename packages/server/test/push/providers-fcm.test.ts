/**
 * The FCM HTTP v1 provider against a local FCM whose token endpoint verifies the RS256
 * assertion with the service account's public key: the §10 payload, the access token's caching,
 * refresh near expiry and on 401, every outcome, the address rules for token_uri, and the
 * settings check.
 */
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../../src/core/errors.js'
import { AddressGuard } from '../../src/delivery/address-guard.js'
import { createFcmProvider, type FcmServiceAccount, type FcmSettings, validateFcmSettings } from '../../src/push/fcm.js'
import type { PushMessage, PushProvider } from '../../src/push/provider.js'
import { FCM_ANSWERS, FCM_SCOPE, type FcmFake, makeServiceAccount, startFcmFake } from './fakes/fcm.js'

const account = makeServiceAccount('parley-chat')
const message: PushMessage = { title: 'Ops', body: 'Deploy done', conversationId: 'conv_ops', messageId: 'msg_77', seq: 9, unread: 12 }
const allowLoopback = new AddressGuard({ allowPrivate: true })

let now = Date.now()
const clock = () => now
let fake: FcmFake
let serviceAccount: FcmServiceAccount
const providers: PushProvider[] = []
const signal = () => new AbortController().signal

function provider(overrides: Partial<FcmServiceAccount> = {}, options: { guard?: AddressGuard } = { guard: allowLoopback }): PushProvider {
  const created = createFcmProvider({ serviceAccount: { ...serviceAccount, ...overrides } }, { baseUrl: fake.url, now: clock, ...options })
  providers.push(created)
  return created
}

beforeAll(async () => {
  fake = await startFcmFake({ publicKey: account.publicKey, clientEmail: account.serviceAccount.client_email, projectId: 'parley-chat', now: clock })
  serviceAccount = { ...account.serviceAccount, token_uri: fake.tokenUri }
})
afterAll(() => fake.close())
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()))
  fake.requests.length = 0
  fake.tokenRequests.length = 0
  fake.tokenAnswers.length = 0
  fake.answers.next.length = 0
  fake.answers.byDevice.clear()
  now = Date.now()
})

describe('FCM: what is sent', () => {
  it('POSTs the §10 message to /v1/projects/<id>/messages:send with the access token', async () => {
    const fcm = provider()
    expect(await fcm.send({ token: 'fcm-token-1' }, message, signal())).toEqual({ outcome: 'sent', responseStatus: 200, reason: null, retryAfterMs: null })
    const [request] = fake.requests
    expect(request!.headers.host).toBe(new URL(fake.url).host)
    expect(request!.body).toEqual({
      message: {
        token: 'fcm-token-1',
        notification: { title: 'Ops', body: 'Deploy done' },
        data: { conversationId: 'conv_ops', messageId: 'msg_77', seq: '9', unread: '12' },
      },
    })
    expect(request!.headers['content-type']).toBe('application/json')
    expect(request!.accessToken).toBe(fake.tokenRequests[0]!.issued)
    expect(fcm.payload(message, { token: 'fcm-token-1' })).toEqual(request!.body)
  })

  it('exchanges an RS256 assertion (iss, scope, aud = token_uri, one hour) for the access token', async () => {
    await provider().send({ token: 'fcm-token-1' }, message, signal())
    const [exchange] = fake.tokenRequests
    expect(exchange!.refused).toBeNull()
    expect(exchange!.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: account.serviceAccount.private_key_id })
    const iat = Math.floor(now / 1000)
    expect(exchange!.claims).toEqual({ iss: account.serviceAccount.client_email, scope: FCM_SCOPE, aud: fake.tokenUri, iat, exp: iat + 3600 })
  })
})

describe('FCM: the access token', () => {
  it('is exchanged once for concurrent sends and reused after', async () => {
    const fcm = provider()
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => fcm.send({ token: `t${i}` }, message, signal())))
    for (let i = 0; i < 5; i++) await fcm.send({ token: `u${i}` }, message, signal())
    expect(first.every((r) => r.outcome === 'sent')).toBe(true)
    expect(fake.tokenRequests).toHaveLength(1)
    expect(new Set(fake.requests.map((r) => r.accessToken)).size).toBe(1)
  })

  it('is renewed in the last minute before it expires', async () => {
    const fcm = provider()
    await fcm.send({ token: 't1' }, message, signal())
    now += 58 * 60_000
    await fcm.send({ token: 't2' }, message, signal())
    expect(fake.tokenRequests).toHaveLength(1)
    now += 60_000 + 1000 // 59 min 1 s: less than a minute left
    await fcm.send({ token: 't3' }, message, signal())
    expect(fake.tokenRequests).toHaveLength(2)
    expect(fake.requests.map((r) => r.accessToken)).toEqual([fake.tokenRequests[0]!.issued, fake.tokenRequests[0]!.issued, fake.tokenRequests[1]!.issued])
  })

  it('is refreshed once on 401 and the send tried again at once (one exchange for concurrent sends)', async () => {
    const fcm = provider()
    await fcm.send({ token: 't0' }, message, signal())
    fake.revokeAccessTokens()
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => fcm.send({ token: `t${i + 1}` }, message, signal())))
    expect(results.map((r) => r.outcome)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent'])
    expect(fake.tokenRequests).toHaveLength(2)
    expect(fake.requests.filter((r) => r.status === 401)).toHaveLength(5)
    expect(fake.delivered().map((r) => r.deviceToken).sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5'])
  })

  it('a 401 after the refresh too → failed, without a third try', async () => {
    const unauthenticated = { status: 401, body: { error: { code: 401, status: 'UNAUTHENTICATED', message: 'no' } } }
    fake.answers.next.push(unauthenticated, unauthenticated)
    expect(await provider().send({ token: 't1' }, message, signal())).toEqual({ outcome: 'failed', responseStatus: 401, reason: 'UNAUTHENTICATED', retryAfterMs: null })
    expect(fake.requests).toHaveLength(2)
    expect(fake.tokenRequests).toHaveLength(2)
  })

  it('a token endpoint that fails for a while → retry; the failure is not kept', async () => {
    const fcm = provider()
    fake.tokenAnswers.push({ status: 503, retryAfter: '5', body: { error: 'unavailable' } })
    expect(await fcm.send({ token: 't1' }, message, signal())).toEqual({ outcome: 'retry', responseStatus: 503, reason: 'token endpoint: unavailable', retryAfterMs: 5000 })
    expect(fake.requests).toHaveLength(0)
    expect((await fcm.send({ token: 't1' }, message, signal())).outcome).toBe('sent')
  })

  it('an assertion the token endpoint refuses (another key) → failed invalid_grant', async () => {
    const other = makeServiceAccount('parley-chat').serviceAccount.private_key
    expect(await provider({ private_key: other }).send({ token: 't1' }, message, signal())).toEqual({
      outcome: 'failed',
      responseStatus: 400,
      reason: 'token endpoint: invalid_grant',
      retryAfterMs: null,
    })
    expect(fake.requests).toHaveLength(0)
  })

  it('token_uri is held to the address rules: loopback refused unless allowed', async () => {
    const result = await provider({}, {}).send({ token: 't1' }, message, signal())
    expect(result).toMatchObject({ outcome: 'failed', responseStatus: null })
    expect(result.reason).toMatch(/^token endpoint: address not allowed: 127\.0\.0\.1 is a loopback address/)
    expect(fake.tokenRequests).toHaveLength(0)
  })
})

describe('FCM: outcomes', () => {
  it.each([
    ['404 UNREGISTERED (FcmError detail)', FCM_ANSWERS.unregistered, { outcome: 'gone', responseStatus: 404, reason: 'UNREGISTERED', retryAfterMs: null }],
    ['404 with status UNREGISTERED', { status: 404, body: { error: { status: 'UNREGISTERED' } } }, { outcome: 'gone', responseStatus: 404, reason: 'UNREGISTERED', retryAfterMs: null }],
    ['400 INVALID_ARGUMENT naming the token', FCM_ANSWERS.invalidToken, { outcome: 'gone', responseStatus: 400, reason: 'INVALID_ARGUMENT', retryAfterMs: null }],
    ['400 INVALID_ARGUMENT about something else', FCM_ANSWERS.invalidPayload, { outcome: 'failed', responseStatus: 400, reason: 'INVALID_ARGUMENT', retryAfterMs: null }],
    ['404 NOT_FOUND without UNREGISTERED', { status: 404, body: { error: { status: 'NOT_FOUND' } } }, { outcome: 'failed', responseStatus: 404, reason: 'NOT_FOUND', retryAfterMs: null }],
    ['403 SENDER_ID_MISMATCH', FCM_ANSWERS.senderIdMismatch, { outcome: 'failed', responseStatus: 403, reason: 'SENDER_ID_MISMATCH', retryAfterMs: null }],
    ['503', FCM_ANSWERS.unavailable, { outcome: 'retry', responseStatus: 503, reason: 'UNAVAILABLE', retryAfterMs: null }],
    ['429 with Retry-After', FCM_ANSWERS.tooMany(30), { outcome: 'retry', responseStatus: 429, reason: 'QUOTA_EXCEEDED', retryAfterMs: 30_000 }],
    ['500 with an HTML body', { status: 500, body: '<html>oops</html>' }, { outcome: 'retry', responseStatus: 500, reason: 'Internal Server Error', retryAfterMs: null }],
  ])('%s', async (_name, answer, expected) => {
    fake.answers.byDevice.set('dead', answer)
    const fcm = provider()
    expect(await fcm.send({ token: 'dead' }, message, signal())).toEqual(expected)
    expect((await fcm.send({ token: 'alive' }, message, signal())).outcome).toBe('sent')
  })

  it('no answer: connection refused → retry', async () => {
    const gone = await startFcmFake({ publicKey: account.publicKey, clientEmail: account.serviceAccount.client_email, projectId: 'parley-chat' })
    await gone.close()
    const created = createFcmProvider({ serviceAccount }, { baseUrl: gone.url, guard: allowLoopback, now: clock })
    providers.push(created)
    expect(await created.send({ token: 't1' }, message, signal())).toEqual({ outcome: 'retry', responseStatus: null, reason: 'connection refused', retryAfterMs: null })
  })
})

describe('FCM: settings', () => {
  const refusal = (value: unknown): ApiError => {
    try {
      validateFcmSettings(value)
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError)
      return error as ApiError
    }
    throw new Error('accepted')
  }
  const ecPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const broken = account.serviceAccount.private_key.replace(/\n(.{40})/, '\nBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB')
  const good = account.serviceAccount

  it.each([
    ['serviceAccount', {}],
    ['serviceAccount.project_id', { serviceAccount: { ...good, project_id: '' } }],
    ['serviceAccount.project_id', { serviceAccount: { ...good, project_id: '../other' } }],
    ['serviceAccount.client_email', { serviceAccount: { ...good, client_email: 'nobody' } }],
    ['serviceAccount.private_key', { serviceAccount: { ...good, private_key: undefined } }],
    ['serviceAccount.private_key', { serviceAccount: { ...good, private_key: ecPem } }],
    ['serviceAccount.private_key', { serviceAccount: { ...good, private_key: broken } }],
    ['serviceAccount.token_uri', { serviceAccount: { ...good, token_uri: 'ftp://example.com/token' } }],
  ])('refuses a bad %s with validation_failed naming it', (param, value) => {
    const error = refusal(value)
    expect(error.code).toBe('validation_failed')
    expect(error.errors?.[0]?.param).toBe(param)
  })

  it('never repeats the private key in an error', () => {
    let thrown: unknown = null
    try {
      createFcmProvider({ serviceAccount: { ...good, private_key: broken } }, { baseUrl: fake.url })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ApiError)
    const text = `${(thrown as Error).message} ${JSON.stringify(thrown)} ${(thrown as Error).stack}`
    for (const line of broken.split('\n').filter((l) => l.length > 16 && !l.startsWith('-----'))) expect(text).not.toContain(line)
  })

  it('keeps the fields it needs from a whole key file', () => {
    const keyFile = { type: 'service_account', client_id: '1234', auth_uri: 'https://accounts.google.com/o/oauth2/auth', ...good, token_uri: 'https://oauth2.googleapis.com/token' }
    const expected: FcmSettings = { serviceAccount: { ...good, token_uri: 'https://oauth2.googleapis.com/token' } }
    expect(validateFcmSettings({ serviceAccount: keyFile })).toEqual(expected)
  })
})
