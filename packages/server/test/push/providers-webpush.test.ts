/**
 * The Web Push provider against a local push service that verifies VAPID and decrypts each
 * message with the subscription's private key (http_ece, not our code): the exact §10 JSON,
 * the RFC 8291 example byte for byte, VAPID reuse and renewal, every outcome, the address rules
 * for endpoints, and the key checks.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../../src/core/errors.js'
import { AddressGuard } from '../../src/delivery/address-guard.js'
import { encryptWebPush } from '../../src/push/ece.js'
import type { PushMessage, PushProvider } from '../../src/push/provider.js'
import { vapidSigningKey } from '../../src/push/vapid.js'
import {
  createWebPushProvider,
  generateVapidKeys,
  validateWebPushSettings,
  validateWebPushSubject,
  webPushSubscriptionProblem,
  type WebPushSettings,
} from '../../src/push/webpush.js'
import { startWebPushReceiver, WEBPUSH_ANSWERS, type WebPushReceiver } from './fakes/webpush.js'

const keys = generateVapidKeys()
const settings: WebPushSettings = { subject: 'mailto:ops@example.com', ...keys }
const message: PushMessage = { title: 'Support', body: 'Ana: can you look at this?', conversationId: 'conv_help', messageId: 'msg_5', seq: 5, unread: 1 }
const allowLoopback = new AddressGuard({ allowPrivate: true })

let now = Date.now()
const clock = () => now
let service: WebPushReceiver
const providers: PushProvider[] = []
const signal = () => new AbortController().signal

function provider(overrides: Partial<WebPushSettings> = {}, guard = allowLoopback): PushProvider {
  const created = createWebPushProvider({ ...settings, ...overrides }, { guard, now: clock })
  providers.push(created)
  return created
}

beforeAll(async () => {
  service = await startWebPushReceiver({ vapidPublicKey: keys.publicKey, now: clock })
})
afterAll(() => service.close())
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()))
  service.requests.length = 0
  service.answers.next.length = 0
  service.answers.byDevice.clear()
  now = Date.now()
})

describe('Web Push: what is sent', () => {
  it('the subscription decrypts exactly the §10 JSON', async () => {
    const { subscription } = service.subscribe()
    expect(await provider().send({ subscription }, message, signal())).toEqual({ outcome: 'sent', responseStatus: 201, reason: null, retryAfterMs: null })
    const [request] = service.requests
    expect(request!.refused).toBeNull()
    expect(request!.payload).toEqual({ title: 'Support', body: 'Ana: can you look at this?', conversationId: 'conv_help', messageId: 'msg_5', seq: 5, unread: 1 })
    expect(request!.plaintext).toBe(JSON.stringify(provider().payload(message, { subscription })))
    // Encrypted on the wire: the text is nowhere in the body.
    expect(request!.raw.includes(Buffer.from('Ana: can you look'))).toBe(false)
  })

  it('sends TTL, Urgency: high, Content-Encoding: aes128gcm and a VAPID authorization for the endpoint origin', async () => {
    const { subscription } = service.subscribe()
    await provider().send({ subscription }, message, signal())
    const { headers, vapid } = service.requests[0]!
    expect(headers.ttl).toBe('86400')
    expect(headers.urgency).toBe('high')
    expect(headers['content-encoding']).toBe('aes128gcm')
    expect(headers['content-type']).toBe('application/octet-stream')
    expect(headers.authorization).toMatch(new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${keys.publicKey}$`))
    expect(vapid).toEqual({ aud: service.origin, sub: 'mailto:ops@example.com', exp: Math.floor(now / 1000) + 12 * 3600 })
  })

  it('encrypts every message afresh (new salt and sender key)', async () => {
    const { subscription } = service.subscribe()
    const webpush = provider()
    await webpush.send({ subscription }, message, signal())
    await webpush.send({ subscription }, message, signal())
    const [a, b] = service.requests.map((r) => r.raw)
    expect(a!.subarray(0, 16).equals(b!.subarray(0, 16))).toBe(false)
    expect(a!.subarray(21, 86).equals(b!.subarray(21, 86))).toBe(false)
    expect(service.requests.map((r) => r.payload)).toEqual([service.requests[0]!.payload, service.requests[0]!.payload])
  })

  it('reproduces RFC 8291 Appendix A byte for byte', () => {
    const b64 = (text: string) => Buffer.from(text, 'base64url')
    const body = encryptWebPush(
      Buffer.from('When I grow up, I want to be a watermelon'),
      b64('BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4'),
      b64('BTBZMqHH6r4Tts7J_aSIgg'),
      { salt: b64('DGv6ra1nlYgDCS1FRnbzlw'), senderPrivateKey: b64('yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw') },
    )
    expect(body.toString('base64url')).toBe(
      'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
    )
  })

  it('reuses a VAPID token per push service for hours, then signs a new one', async () => {
    const { subscription } = service.subscribe()
    const webpush = provider()
    const token = () => service.requests.at(-1)!.headers.authorization
    await webpush.send({ subscription }, message, signal())
    const first = token()
    now += 5 * 3600_000
    await webpush.send({ subscription }, message, signal())
    expect(token()).toBe(first)
    now += 2 * 3600_000
    await webpush.send({ subscription }, message, signal())
    expect(token()).not.toBe(first)
    expect(service.requests.every((r) => r.status === 201)).toBe(true)
  })
})

describe('Web Push: outcomes', () => {
  it.each([
    ['201', WEBPUSH_ANSWERS.created, { outcome: 'sent', responseStatus: 201, reason: null, retryAfterMs: null }],
    ['202', { status: 202 }, { outcome: 'sent', responseStatus: 202, reason: null, retryAfterMs: null }],
    ['404', WEBPUSH_ANSWERS.notFound, { outcome: 'gone', responseStatus: 404, reason: 'Not Found', retryAfterMs: null }],
    ['410', WEBPUSH_ANSWERS.gone, { outcome: 'gone', responseStatus: 410, reason: 'Gone', retryAfterMs: null }],
    ['429 with Retry-After', WEBPUSH_ANSWERS.tooMany(12), { outcome: 'retry', responseStatus: 429, reason: 'Too Many Requests', retryAfterMs: 12_000 }],
    ['503', WEBPUSH_ANSWERS.unavailable, { outcome: 'retry', responseStatus: 503, reason: 'Service Unavailable', retryAfterMs: null }],
    ['413', WEBPUSH_ANSWERS.payloadTooLarge, { outcome: 'failed', responseStatus: 413, reason: 'Payload Too Large', retryAfterMs: null }],
  ])('%s', async (_name, answer, expected) => {
    const dead = service.subscribe()
    const alive = service.subscribe()
    service.answers.byDevice.set(dead.id, answer)
    const webpush = provider()
    expect(await webpush.send({ subscription: dead.subscription }, message, signal())).toEqual(expected)
    expect((await webpush.send({ subscription: alive.subscription }, message, signal())).outcome).toBe('sent')
  })

  it('signed with another VAPID key than the subscription was made with → 403 failed', async () => {
    const { subscription } = service.subscribe()
    const result = await provider({ ...generateVapidKeys() }).send({ subscription }, message, signal())
    expect(result).toMatchObject({ outcome: 'failed', responseStatus: 403 })
    expect(service.requests[0]!.refused).toMatch(/k is not the key/)
  })

  it('an endpoint on a private address is refused by the address rules, nothing sent', async () => {
    const { subscription } = service.subscribe()
    const result = await provider({}, new AddressGuard({ allowPrivate: false })).send({ subscription }, message, signal())
    expect(result).toMatchObject({ outcome: 'failed', responseStatus: null })
    expect(result.reason).toMatch(/^address not allowed: 127\.0\.0\.1 is a loopback address/)
    expect(service.requests).toHaveLength(0)
  })

  it('subscription keys that are not a P-256 point → failed, nothing sent', async () => {
    const { subscription } = service.subscribe()
    const broken = { ...subscription, keys: { ...subscription.keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } }
    expect(await provider().send({ subscription: broken }, message, signal())).toMatchObject({ outcome: 'failed', reason: 'bad subscription keys: p256dh is not a point on P-256' })
    expect(service.requests).toHaveLength(0)
  })

  it('a message too large for one record → failed, nothing sent', async () => {
    const { subscription } = service.subscribe()
    expect(await provider().send({ subscription }, { ...message, title: 'x'.repeat(5000) }, signal())).toMatchObject({ outcome: 'failed', reason: 'payload too large for Web Push' })
    expect(service.requests).toHaveLength(0)
  })

  it('no answer: connection refused → retry', async () => {
    const closed = await startWebPushReceiver({ vapidPublicKey: keys.publicKey })
    const { subscription } = closed.subscribe()
    await closed.close()
    expect(await provider().send({ subscription }, message, signal())).toMatchObject({ outcome: 'retry', responseStatus: null, reason: 'connection refused' })
  })
})

describe('Web Push: keys and settings', () => {
  it('generates VAPID keys as browsers take them: a 65-byte point and a 32-byte scalar, base64url', () => {
    const pair = generateVapidKeys()
    expect(pair.publicKey).toMatch(/^[\w-]+$/)
    expect(Buffer.from(pair.publicKey, 'base64url')).toHaveLength(65)
    expect(Buffer.from(pair.publicKey, 'base64url')[0]).toBe(4)
    expect(Buffer.from(pair.privateKey, 'base64url')).toHaveLength(32)
    expect(() => vapidSigningKey(pair.publicKey, pair.privateKey)).not.toThrow()
    expect(generateVapidKeys().privateKey).not.toBe(pair.privateKey)
  })

  it('refuses a key pair whose halves do not belong together, without repeating the key', () => {
    const other = generateVapidKeys()
    let thrown: unknown = null
    try {
      validateWebPushSettings({ subject: 'mailto:a@b.c', publicKey: keys.publicKey, privateKey: other.privateKey })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ApiError)
    expect((thrown as ApiError).errors?.[0]?.param).toBe('privateKey')
    expect(`${(thrown as Error).message} ${JSON.stringify(thrown)}`).not.toContain(other.privateKey)
  })

  it.each(['mailto:ops@example.com', 'https://example.com/contact'])('accepts the subject %s', (subject) => {
    expect(validateWebPushSubject(subject)).toBe(subject)
  })

  it.each(['', 'ops@example.com', 'http://example.com', 'mailto:', 42])('refuses the subject %s', (subject) => {
    expect(() => validateWebPushSubject(subject)).toThrow(ApiError)
  })

  it('checks a subscription as a browser hands it over', () => {
    const { subscription } = service.subscribe()
    expect(webPushSubscriptionProblem(subscription)).toBeNull()
    expect(webPushSubscriptionProblem({ ...subscription, endpoint: 'ftp://x' })).toMatch(/^subscription.endpoint/)
    expect(webPushSubscriptionProblem({ ...subscription, keys: { ...subscription.keys, p256dh: 'AAAA' } })).toMatch(/^subscription.keys.p256dh/)
    expect(webPushSubscriptionProblem({ ...subscription, keys: { ...subscription.keys, auth: 'AAAA' } })).toMatch(/^subscription.keys.auth/)
  })
})
