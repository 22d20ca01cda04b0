/**
 * The APNs provider against a local APNs (h2c) that verifies the provider token with the tenant's
 * public key: the §10 payload and headers, one HTTP/2 session, the provider token's reuse and
 * renewal (injected clocks), every outcome, and the settings check.
 */
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../../src/core/errors.js'
import { APNS_PRODUCTION_URL, APNS_SANDBOX_URL, type ApnsSettings, apnsBaseUrl, createApnsProvider, validateApnsSettings } from '../../src/push/apns.js'
import type { PushMessage, PushProvider } from '../../src/push/provider.js'
import { APNS_ANSWERS, type ApnsFake, makeApnsKey, startApnsFake } from './fakes/apns.js'

const key = makeApnsKey()
const settings: ApnsSettings = { teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey: key.privateKey, bundleId: 'com.example.parley', production: false }
const message: PushMessage = { title: 'Design team', body: 'Shipping it today…', conversationId: 'conv_design', messageId: 'msg_01', seq: 42, unread: 3 }
const token = (n: number | string) => `${String(n).padStart(4, '0')}${'ab'.repeat(30)}`

/** The provider's clock, and the fake's (Apple's) clock, which may run ahead of it. */
let providerNow = Date.now()
let appleAhead = 0
const clocks = { provider: () => providerNow, apple: () => providerNow + appleAhead }

let fake: ApnsFake
const providers: PushProvider[] = []
const signal = () => new AbortController().signal

function provider(overrides: Partial<ApnsSettings> = {}, options: { timeoutMs?: number; baseUrl?: string } = {}): PushProvider {
  const created = createApnsProvider({ ...settings, ...overrides }, { baseUrl: options.baseUrl ?? fake.url, now: clocks.provider, timeoutMs: options.timeoutMs })
  providers.push(created)
  return created
}

beforeAll(async () => {
  fake = await startApnsFake({ publicKey: key.publicKey, teamId: settings.teamId, keyId: settings.keyId, bundleId: settings.bundleId, now: clocks.apple })
})
afterAll(() => fake.close())
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()))
  fake.requests.length = 0
  fake.answers.next.length = 0
  fake.answers.byDevice.clear()
  fake.dropSessions()
  fake.sessionsOpened = 0
  providerNow = Date.now()
  appleAhead = 0
})

describe('APNs: what is sent', () => {
  it('POSTs the §10 payload to /3/device/<token> with the §10 headers and a verified provider token', async () => {
    const apns = provider()
    const result = await apns.send({ token: token(1) }, message, signal())
    expect(result).toEqual({ outcome: 'sent', responseStatus: 200, reason: null, retryAfterMs: null })

    const [request] = fake.requests
    expect(request!.deviceToken).toBe(token(1))
    expect(request!.headers[':path']).toBe(`/3/device/${token(1)}`)
    expect(request!.body).toEqual({
      aps: { alert: { title: 'Design team', body: 'Shipping it today…' }, badge: 3, sound: 'default', 'thread-id': 'conv_design' },
      parley: { conversationId: 'conv_design', messageId: 'msg_01', seq: 42 },
    })
    expect(request!.headers['apns-push-type']).toBe('alert')
    expect(request!.headers['apns-topic']).toBe('com.example.parley')
    expect(request!.headers['apns-collapse-id']).toBe('msg_01')
    expect(request!.headers.authorization).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/)
    expect(request!.claims).toEqual({ iss: 'TEAM123456', iat: Math.floor(providerNow / 1000) })
  })

  it('payload() is exactly the body sent (what test mode logs)', async () => {
    const apns = provider()
    await apns.send({ token: token(2) }, message, signal())
    expect(apns.payload(message, { token: token(2) })).toEqual(fake.requests[0]!.body)
  })
})

describe('APNs: connections and provider tokens', () => {
  it('carries many sends, concurrent and one after another, on one HTTP/2 session', async () => {
    const apns = provider()
    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => apns.send({ token: token(i) }, message, signal())))
    for (let i = 50; i < 60; i++) await apns.send({ token: token(i) }, message, signal())
    expect(first.every((r) => r.outcome === 'sent')).toBe(true)
    expect(fake.requests).toHaveLength(60)
    expect(fake.sessionsOpened).toBe(1)
    expect(new Set(fake.requests.map((r) => r.session))).toEqual(new Set([1]))
  })

  it('opens a new session when APNs closes the one it had', async () => {
    const apns = provider()
    expect((await apns.send({ token: token(1) }, message, signal())).outcome).toBe('sent')
    fake.dropSessions()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await apns.send({ token: token(2) }, message, signal())).outcome).toBe('sent')
    expect(fake.sessionsOpened).toBe(2)
    expect(fake.requests.map((r) => r.session)).toEqual([1, 2])
  })

  it('reuses the provider token for 40 minutes, then signs a new one', async () => {
    const apns = provider()
    const bearer = () => fake.requests.at(-1)!.headers.authorization
    await apns.send({ token: token(1) }, message, signal())
    const first = bearer()
    providerNow += 39 * 60_000
    await apns.send({ token: token(2) }, message, signal())
    expect(bearer()).toBe(first)
    providerNow += 2 * 60_000
    await apns.send({ token: token(3) }, message, signal())
    expect(bearer()).not.toBe(first)
    expect(fake.requests.at(-1)!.claims!.iat).toBe(Math.floor(providerNow / 1000))
    // Past an hour the old token would have been refused: every send went through.
    providerNow += 30 * 60_000
    await apns.send({ token: token(4) }, message, signal())
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200, 200, 200])
  })

  it('on ExpiredProviderToken signs a new token and tries once more', async () => {
    const apns = provider()
    await apns.send({ token: token(1) }, message, signal())
    // Apple's clock runs 31 minutes ahead of ours: 30 minutes on, the cached token is 61 minutes
    // old for Apple (refused) while a fresh one is 31 minutes old (accepted).
    providerNow += 30 * 60_000
    appleAhead = 31 * 60_000
    const result = await apns.send({ token: token(2) }, message, signal())
    expect(result.outcome).toBe('sent')
    expect(fake.requests.map((r) => [r.status, r.reason])).toEqual([
      [200, null],
      [403, 'ExpiredProviderToken'],
      [200, null],
    ])
  })
})

describe('APNs: outcomes', () => {
  it.each([
    ['200', APNS_ANSWERS.ok, { outcome: 'sent', responseStatus: 200, reason: null, retryAfterMs: null }],
    ['410 Unregistered', APNS_ANSWERS.unregistered, { outcome: 'gone', responseStatus: 410, reason: 'Unregistered', retryAfterMs: null }],
    ['400 BadDeviceToken', APNS_ANSWERS.badDeviceToken, { outcome: 'gone', responseStatus: 400, reason: 'BadDeviceToken', retryAfterMs: null }],
    ['429 with Retry-After', APNS_ANSWERS.tooMany(7), { outcome: 'retry', responseStatus: 429, reason: 'TooManyRequests', retryAfterMs: 7000 }],
    ['503', APNS_ANSWERS.unavailable, { outcome: 'retry', responseStatus: 503, reason: 'ServiceUnavailable', retryAfterMs: null }],
    ['413 PayloadTooLarge', APNS_ANSWERS.payloadTooLarge, { outcome: 'failed', responseStatus: 413, reason: 'PayloadTooLarge', retryAfterMs: null }],
    ['400 DeviceTokenNotForTopic (not a dead device)', { status: 400, reason: 'DeviceTokenNotForTopic' }, { outcome: 'failed', responseStatus: 400, reason: 'DeviceTokenNotForTopic', retryAfterMs: null }],
  ])('%s', async (_name, answer, expected) => {
    fake.answers.byDevice.set(token(9), answer)
    const apns = provider()
    expect(await apns.send({ token: token(9) }, message, signal())).toEqual(expected)
    // Another device on the same provider is not affected.
    expect((await apns.send({ token: token(8) }, message, signal())).outcome).toBe('sent')
  })

  it('a bundle id APNs does not accept for the key → failed TopicDisallowed', async () => {
    const result = await provider({ bundleId: 'com.example.other' }).send({ token: token(1) }, message, signal())
    expect(result).toMatchObject({ outcome: 'failed', responseStatus: 400, reason: 'TopicDisallowed' })
  })

  it('a token signed with another key → failed InvalidProviderToken', async () => {
    const result = await provider({ privateKey: makeApnsKey().privateKey }).send({ token: token(1) }, message, signal())
    expect(result).toMatchObject({ outcome: 'failed', responseStatus: 403, reason: 'InvalidProviderToken' })
  })

  it('no answer: connection refused → retry', async () => {
    const closed = await startApnsFake({ publicKey: key.publicKey, teamId: settings.teamId, keyId: settings.keyId, bundleId: settings.bundleId })
    await closed.close()
    const result = await provider({}, { baseUrl: closed.url }).send({ token: token(1) }, message, signal())
    expect(result).toEqual({ outcome: 'retry', responseStatus: null, reason: 'connection refused', retryAfterMs: null })
  })

  it('no answer in time → retry; the provider keeps working afterwards', async () => {
    fake.answers.next.push({ ...APNS_ANSWERS.ok, delayMs: 1000 })
    const apns = provider({}, { timeoutMs: 200 })
    expect(await apns.send({ token: token(1) }, message, signal())).toEqual({ outcome: 'retry', responseStatus: null, reason: 'timed out after 0.2 s', retryAfterMs: null })
    expect((await apns.send({ token: token(2) }, message, signal())).outcome).toBe('sent')
  })

  it('an aborted send (the node shutting down) → retry', async () => {
    fake.answers.next.push({ ...APNS_ANSWERS.ok, delayMs: 1000 })
    const stop = new AbortController()
    const sending = provider().send({ token: token(1) }, message, stop.signal)
    setTimeout(() => stop.abort(), 50)
    expect(await sending).toMatchObject({ outcome: 'retry', responseStatus: null, reason: 'aborted (the node is shutting down)' })
  })

  it('a target without a token → failed, nothing sent', async () => {
    expect(await provider().send({}, message, signal())).toMatchObject({ outcome: 'failed', reason: 'no device token' })
    expect(fake.requests).toHaveLength(0)
  })
})

describe('APNs: a burst', () => {
  it('1,000 sends with bounded concurrency all arrive, on one session', async () => {
    const apns = provider()
    const tokens = Array.from({ length: 1000 }, (_, i) => token(i))
    fake.answers.byDevice.set(token(500), APNS_ANSWERS.unregistered)
    const results = new Map<string, string>()
    let next = 0
    const worker = async () => {
      while (next < tokens.length) {
        const index = next++
        const device = tokens[index]!
        results.set(device, (await apns.send({ token: device }, { ...message, messageId: `msg_${index}` }, signal())).outcome)
      }
    }
    await Promise.all(Array.from({ length: 64 }, worker))
    expect(results.size).toBe(1000)
    expect([...results.values()].filter((o) => o === 'sent')).toHaveLength(999)
    expect(results.get(token(500))).toBe('gone')
    expect(new Set(fake.requests.map((r) => r.deviceToken)).size).toBe(1000)
    expect(fake.sessionsOpened).toBe(1)
  })
})

describe('APNs: base URL and settings', () => {
  it("PARLEY_APNS_URL, else Apple's host for production or the sandbox", () => {
    expect(apnsBaseUrl({ production: true }, null)).toBe(APNS_PRODUCTION_URL)
    expect(apnsBaseUrl({ production: false }, null)).toBe(APNS_SANDBOX_URL)
    expect(apnsBaseUrl({ production: true }, 'http://127.0.0.1:9')).toBe('http://127.0.0.1:9')
  })

  const refusal = (value: unknown): ApiError => {
    try {
      validateApnsSettings(value)
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError)
      return error as ApiError
    }
    throw new Error('accepted')
  }
  const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  // A .p8 with its body damaged: the PEM armour is intact, the key inside is not.
  const broken = key.privateKey.replace(/\n(.{20})/, '\nAAAAAAAAAAAAAAAAAAAA')

  it.each([
    ['teamId', { ...settings, teamId: 'team' }],
    ['keyId', { ...settings, keyId: undefined }],
    ['privateKey', { ...settings, privateKey: 'not a key' }],
    ['privateKey', { ...settings, privateKey: broken }],
    ['privateKey', { ...settings, privateKey: rsaPem }],
    ['bundleId', { ...settings, bundleId: 'com example' }],
    ['production', { ...settings, production: 'yes' }],
  ])('refuses a bad %s with validation_failed naming it', (param, value) => {
    const error = refusal(value)
    expect(error.code).toBe('validation_failed')
    expect(error.errors?.[0]?.param).toBe(param)
  })

  it('never repeats a private key in an error', () => {
    for (const pem of [broken, rsaPem, `${key.privateKey}garbage`.replace('PRIVATE KEY', 'PRIVATE  KEY')]) {
      let thrown: unknown = null
      try {
        createApnsProvider({ ...settings, privateKey: pem }, { baseUrl: fake.url })
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(ApiError)
      const text = `${(thrown as Error).message} ${JSON.stringify(thrown)} ${(thrown as Error).stack}`
      for (const line of pem.split('\n').filter((l) => l.length > 16 && !l.startsWith('-----'))) expect(text).not.toContain(line)
    }
  })

  it('accepts good settings as they are', () => {
    expect(validateApnsSettings({ ...settings })).toEqual(settings)
  })
})
