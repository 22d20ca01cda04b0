/**
 * verifyWebhook against the Standard Webhooks test vector, against signatures made by the
 * standardwebhooks library, and against real deliveries of a real Parley; and what it refuses.
 */
import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { listeningWorld } from '../../server/test/helpers/realtime.js'
import { waitFor } from '../../server/test/helpers/wait.js'
import { Parley, WebhookVerificationError, verifyWebhook } from '../src/index.js'
import { type Receiver, startReceiver } from './helpers/receiver.js'

// The Standard Webhooks specification's own example (github.com/standard-webhooks/standard-webhooks).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
}
const vectorHeaders = (changes: Record<string, string> = {}) => ({
  'webhook-id': VECTOR.id,
  'webhook-timestamp': String(VECTOR.timestamp),
  'webhook-signature': VECTOR.signature,
  ...changes,
})

afterEach(() => void vi.useRealTimers())

describe('the Standard Webhooks vector', () => {
  it('verifies at its time, with the body as a string, Buffer or Uint8Array and headers as an object or Headers', () => {
    vi.useFakeTimers({ now: VECTOR.timestamp * 1000 + 60_000, toFake: ['Date'] })
    expect(verifyWebhook(VECTOR.body, vectorHeaders(), VECTOR.secret)).toEqual({ test: 2432232314 })
    expect(verifyWebhook(Buffer.from(VECTOR.body), new Headers(vectorHeaders()), VECTOR.secret)).toEqual({ test: 2432232314 })
    expect(verifyWebhook(new TextEncoder().encode(VECTOR.body), vectorHeaders(), VECTOR.secret)).toEqual({ test: 2432232314 })
    // One of several signatures (a secret rotation's overlap) is enough.
    expect(verifyWebhook(VECTOR.body, vectorHeaders({ 'webhook-signature': `v1,AAAA ${VECTOR.signature}` }), VECTOR.secret)).toEqual({ test: 2432232314 })
  })

  it('refuses a tampered body, a tampered timestamp, a wrong secret and missing headers', () => {
    vi.useFakeTimers({ now: VECTOR.timestamp * 1000, toFake: ['Date'] })
    const refuses = (body: string, headers: Record<string, string>, secret = VECTOR.secret) =>
      expect(() => verifyWebhook(body, headers, secret)).toThrow(WebhookVerificationError)
    refuses('{"test": 2432232315}', vectorHeaders())
    refuses(VECTOR.body, vectorHeaders({ 'webhook-timestamp': String(VECTOR.timestamp + 1) }))
    refuses(VECTOR.body, vectorHeaders(), 'whsec_' + Buffer.alloc(24, 1).toString('base64'))
    const { 'webhook-signature': _, ...unsigned } = vectorHeaders()
    refuses(VECTOR.body, unsigned)
  })

  it('refuses a timestamp more than 5 minutes from now, in either direction', () => {
    for (const offsetS of [-301, 301]) {
      vi.useFakeTimers({ now: (VECTOR.timestamp + offsetS) * 1000, toFake: ['Date'] })
      expect(() => verifyWebhook(VECTOR.body, vectorHeaders(), VECTOR.secret)).toThrow(/5 minutes/)
    }
    vi.useFakeTimers({ now: (VECTOR.timestamp + 299) * 1000, toFake: ['Date'] })
    expect(verifyWebhook(VECTOR.body, vectorHeaders(), VECTOR.secret)).toEqual({ test: 2432232314 })
  })

  it('is not a ParleyError: no HTTP call failed', () => {
    const error = (() => {
      try {
        verifyWebhook('{}', {}, VECTOR.secret)
      } catch (thrown) {
        return thrown
      }
    })()
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).name).toBe('WebhookVerificationError')
    expect(error).not.toHaveProperty('status')
  })
})

it('verifies what the standardwebhooks library signs now', () => {
  const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64')
  const body = JSON.stringify({ type: 'message.created', id: 'evt_1', data: { text: 'hé' } })
  const now = new Date()
  const signature = new Webhook(secret).sign('evt_1', now, body)
  const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature }
  expect(verifyWebhook(body, headers, secret)).toMatchObject({ type: 'message.created', data: { text: 'hé' } })
})

describe('real deliveries', () => {
  let t: TestParley
  let world: ChatWorld
  let url: string
  let receiver: Receiver

  beforeAll(async () => {
    ;({ t, world, url } = await listeningWorld({ PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true' }))
    receiver = await startReceiver()
  })
  afterAll(async () => {
    await receiver?.close()
    await t?.close()
  })

  it('verifies a delivered event, from the raw body and from a fetch Request; a re-serialised body fails', async () => {
    const parley = new Parley({ apiKey: world.key, apiUrl: url })
    const endpoint = await parley.webhooks.create({ url: receiver.url, events: ['user.created'] })
    await parley.users.upsert({ id: 'hooked', displayName: 'Hooked' })
    await waitFor(() => receiver.deliveries.length > 0, 10_000, 'a delivery')
    const [delivery] = receiver.deliveries

    const event = verifyWebhook(delivery!.body, delivery!.headers, endpoint.secret)
    expect(event).toMatchObject({ type: 'user.created', tenantId: world.tenant.id, environment: 'live', data: { id: 'hooked' } })
    expect(event.id).toBe(delivery!.headers['webhook-id'])

    const headers = new Headers(Object.entries(delivery!.headers).map(([name, value]) => [name, String(value)]))
    const request = new Request('http://localhost/hooks', { method: 'POST', headers, body: new Uint8Array(delivery!.body) })
    expect(await verifyWebhook.request(request, endpoint.secret)).toEqual(event)

    const reserialised = JSON.stringify(JSON.parse(delivery!.body.toString()), null, 2)
    expect(() => verifyWebhook(reserialised, delivery!.headers, endpoint.secret)).toThrow(WebhookVerificationError)
  })
})
