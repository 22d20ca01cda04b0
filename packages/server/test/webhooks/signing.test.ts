/** Standard Webhooks signing: the specification's own test vector, and agreement with the reference library. */
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { generateSecret, secretKey, sign, signatureHeader } from '../../src/webhooks/signing.js'

describe('signing', () => {
  it('reproduces the Standard Webhooks test vector', () => {
    const key = secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')
    expect(sign(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
  })

  it('makes signatures the reference library accepts, bytes and all, one per secret during a rotation', () => {
    const [older, newer] = [generateSecret(), generateSecret()]
    const body = Buffer.from(JSON.stringify({ type: 'message.created', data: { text: 'héllo 👋' } }))
    const timestamp = Math.floor(Date.now() / 1000)
    const header = signatureHeader([secretKey(newer), secretKey(older)], 'evt_1', timestamp, body)
    expect(header.split(' ')).toHaveLength(2)
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': header }
    for (const secret of [older, newer]) expect(new Webhook(secret).verify(body, headers)).toMatchObject({ type: 'message.created' })
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow()
    // The library signs as we do.
    expect(new Webhook(newer).sign('evt_1', new Date(timestamp * 1000), body.toString())).toBe(sign(secretKey(newer), 'evt_1', timestamp, body))
  })

  it('generates whsec_ secrets of 32 random bytes', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSecret))
    expect(secrets.size).toBe(50)
    for (const secret of secrets) expect(secretKey(secret)).toHaveLength(32)
  })
})
