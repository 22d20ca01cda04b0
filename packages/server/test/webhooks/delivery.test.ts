/**
 * Webhook deliveries end to end: a real Parley delivering to real receivers on loopback, checked
 * with the `standardwebhooks` package and with an independent node:crypto verifier.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from '../helpers/parley.js'
import { type Receiver, startReceiver } from './receiver.js'

/** The verification a receiver writes by hand, per docs/webhooks.md. */
function verifiedByHand(secret: string, headers: Record<string, unknown>, raw: Buffer): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const signed = Buffer.concat([Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.`), raw])
  const expected = createHmac('sha256', key).update(signed).digest()
  return String(headers['webhook-signature'])
    .split(' ')
    .some((entry) => {
      const [version, signature] = entry.split(',')
      const given = Buffer.from(signature ?? '', 'base64')
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected)
    })
}

const verify = (secret: string, r: { headers: Record<string, unknown>; raw: Buffer }) => new Webhook(secret).verify(r.raw, r.headers as Record<string, string>)

let t: TestParley
let tenant: TestTenant
const receivers: Receiver[] = []

beforeAll(async () => {
  t = await startParley({ env: { PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true', PARLEY_WEBHOOK_TIMEOUT_MS: '1000' } })
  tenant = await t.createTenant()
})
afterAll(() => t.close())
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close()
})

async function receiver(answer?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(answer)
  receivers.push(r)
  return r
}

async function endpoint(url: string, events: string[] = ['*'], key = tenant.liveKey): Promise<{ id: string; secret: string }> {
  const res = await t.call('POST', '/v1/webhooks', { auth: key, body: { url, events } })
  expect(res.status, res.text).toBe(201)
  return res.body
}

const upsertUser = async (id: string, extra: Record<string, unknown> = {}, key = tenant.liveKey) => {
  const res = await t.call('POST', '/v1/users', { auth: key, body: { id, ...extra } })
  expect([200, 201]).toContain(res.status)
}

const log = async (endpointId: string, query = '') => (await t.call('GET', `/v1/webhooks/${endpointId}/deliveries${query}`, { auth: tenant.liveKey })).body.data

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met in ${timeoutMs} ms: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('signed deliveries', () => {
  it('delivers a user.created event that standardwebhooks and a node:crypto check both verify', async () => {
    const r = await receiver()
    const { id, secret } = await endpoint(r.url)
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32)
    await upsertUser('ada', { displayName: 'Ada' })
    await r.waitFor(1)
    const [got] = r.received
    expect(got!.headers['webhook-id']).toMatch(/^evt_/)
    expect(got!.headers['content-type']).toBe('application/json')
    expect(Math.abs(Number(got!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60)
    expect(verify(secret, got!)).toMatchObject({ type: 'user.created', data: { id: 'ada', displayName: 'Ada' } })
    expect(verifiedByHand(secret, got!.headers, got!.raw)).toBe(true)
    expect(got!.body).toEqual({
      type: 'user.created',
      id: got!.headers['webhook-id'],
      timestamp: expect.stringMatching(/Z$/),
      tenantId: tenant.id,
      environment: 'live',
      data: expect.objectContaining({ id: 'ada', kind: 'user' }),
    })
    const [record] = await until(() => log(id), (rows) => rows[0]?.status === 'succeeded')
    expect(record).toMatchObject({ eventId: got!.body.id, eventType: 'user.created', attempt: 1, status: 'succeeded', responseStatus: 200, error: null, nextAttemptAt: null })
    expect(record.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('signs the exact bytes of a non-ASCII body', async () => {
    const r = await receiver()
    const { secret } = await endpoint(r.url, ['user.created'])
    await upsertUser('zoe', { displayName: 'Zoë 日本語 🎉', metadata: { note: 'naïve — “quotes”' } })
    await r.waitFor(1)
    const [got] = r.received
    expect(Number(got!.headers['content-length'])).toBe(got!.raw.length)
    expect(got!.raw.length).toBeGreaterThan(got!.raw.toString('utf8').length)
    expect(verify(secret, got!)).toMatchObject({ data: { displayName: 'Zoë 日本語 🎉' } })
    expect(verifiedByHand(secret, got!.headers, got!.raw)).toBe(true)
  })

  it('is rejected once tampered with: body, timestamp, id or secret', async () => {
    const r = await receiver()
    const { secret } = await endpoint(r.url, ['user.created'])
    await upsertUser('tamper')
    await r.waitFor(1)
    const got = r.received[0]!
    const body = Buffer.from(got.raw)
    body.writeUInt8(body.readUInt8(body.length - 2) ^ 1, body.length - 2)
    const other = `whsec_${Buffer.alloc(32, 7).toString('base64')}`
    const cases = [
      { headers: got.headers, raw: body },
      { headers: { ...got.headers, 'webhook-timestamp': String(Number(got.headers['webhook-timestamp']) + 1) }, raw: got.raw },
      { headers: { ...got.headers, 'webhook-id': 'evt_other' }, raw: got.raw },
    ]
    for (const c of cases) {
      expect(() => verify(secret, c)).toThrow()
      expect(verifiedByHand(secret, c.headers, c.raw)).toBe(false)
    }
    expect(() => verify(other, got)).toThrow()
    expect(verifiedByHand(other, got.headers, got.raw)).toBe(false)
  })

  it('carries both signatures during a rotation overlap, and only the new one without overlap', async () => {
    const r = await receiver()
    const { id, secret: old } = await endpoint(r.url, ['user.created'])
    const rotated = await t.call('POST', `/v1/webhooks/${id}/rotate-secret`, { auth: tenant.liveKey, body: { overlapSeconds: 3600 } })
    expect(rotated.status, rotated.text).toBe(200)
    expect(rotated.body).toMatchObject({ id, enabled: true })
    const fresh = rotated.body.secret as string
    expect(fresh).not.toBe(old)
    await upsertUser('rotation-1')
    await r.waitFor(1)
    const during = r.received[0]!
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2)
    expect(verify(fresh, during)).toBeTruthy()
    expect(verify(old, during)).toBeTruthy()
    expect(verifiedByHand(old, during.headers, during.raw) && verifiedByHand(fresh, during.headers, during.raw)).toBe(true)

    const again = await t.call('POST', `/v1/webhooks/${id}/rotate-secret`, { auth: tenant.liveKey, body: { overlapSeconds: 0 } })
    await upsertUser('rotation-2')
    await r.waitFor(2)
    const after = r.received[1]!
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1)
    expect(verify(again.body.secret, after)).toBeTruthy()
    expect(() => verify(fresh, after)).toThrow()
  })

  it('never returns or stores the secret in the clear', async () => {
    const { id, secret } = await endpoint('http://127.0.0.1:9/never')
    const got = await t.call('GET', `/v1/webhooks/${id}`, { auth: tenant.liveKey })
    expect(got.body.secret).toBeUndefined()
    const listed = await t.call('GET', '/v1/webhooks', { auth: tenant.liveKey })
    expect(JSON.stringify(listed.body)).not.toContain(secret)
    const row = await t.parley.store.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
    expect(JSON.stringify(row)).not.toContain(secret.slice(6))
  })
})

describe('what an endpoint gets', () => {
  it('only the event types it subscribed to, and webhook.test whatever its filter', async () => {
    const r = await receiver()
    const { id } = await endpoint(r.url, ['user.updated'])
    await upsertUser('filter-1')
    await upsertUser('filter-1', { displayName: 'Changed' })
    await r.waitFor(1)
    const sent = await t.call('POST', `/v1/webhooks/${id}/test`, { auth: tenant.liveKey })
    expect(sent.status, sent.text).toBe(202)
    expect(sent.body.eventId).toMatch(/^evt_/)
    await r.waitFor(2)
    expect(r.received.map((x) => x.body.type)).toEqual(['user.updated', 'webhook.test'])
    expect(r.received[0]!.body.data).toMatchObject({ id: 'filter-1', displayName: 'Changed' })
    expect(r.received[1]!.headers['webhook-id']).toBe(sent.body.eventId)
    expect(r.received[1]!.body.data).toMatchObject({ webhookId: id })
  })

  it('sends a test to that endpoint only', async () => {
    const [a, b] = [await receiver(), await receiver()]
    const ea = await endpoint(a.url)
    await endpoint(b.url)
    await t.call('POST', `/v1/webhooks/${ea.id}/test`, { auth: tenant.liveKey })
    await a.waitFor(1)
    await upsertUser('after-test')
    await b.waitFor(1)
    expect(b.received.map((x) => x.body.type)).toEqual(['user.created'])
  })

  it("only its own environment's events", async () => {
    const [live, test] = [await receiver(), await receiver()]
    await endpoint(live.url, ['user.created'])
    await endpoint(test.url, ['user.created'], tenant.testKey)
    await upsertUser('only-test', {}, tenant.testKey)
    await upsertUser('only-live')
    await Promise.all([live.waitFor(1), test.waitFor(1)])
    expect(test.received.map((x) => [x.body.environment, x.body.data.id])).toEqual([['test', 'only-test']])
    expect(live.received.map((x) => [x.body.environment, x.body.data.id])).toEqual([['live', 'only-live']])
  })

  it('key and user lifecycle events', async () => {
    const r = await receiver()
    await endpoint(r.url, ['key.created', 'key.revoked', 'key.rolled', 'user.deleted'])
    const created = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'hooked', type: 'secret' } })
    const rolled = await t.call('POST', `/v1/keys/${created.body.id}/roll`, { auth: tenant.liveKey, body: { expiresInSeconds: 60 } })
    await t.call('POST', `/v1/keys/${rolled.body.id}/revoke`, { auth: tenant.liveKey })
    await upsertUser('doomed')
    await t.call('DELETE', '/v1/users/doomed', { auth: tenant.liveKey })
    await r.waitFor(4)
    const [k1, k2, k3, u] = r.received.map((x) => x.body)
    expect(k1).toMatchObject({ type: 'key.created', data: { id: created.body.id, name: 'hooked', status: 'active' } })
    expect(k2).toMatchObject({ type: 'key.rolled', data: { id: rolled.body.id, previous: { id: created.body.id } } })
    expect(k3).toMatchObject({ type: 'key.revoked', data: { id: rolled.body.id, status: 'revoked' } })
    expect(u).toMatchObject({ type: 'user.deleted', data: { id: 'doomed' } })
    expect(JSON.stringify(r.received.map((x) => x.body))).not.toContain(created.body.key)
  })
})

describe('answers', () => {
  it('a 410 disables the endpoint ("gone"), and enabling it again clears the reason', async () => {
    const r = await receiver(() => ({ status: 410 }))
    const { id } = await endpoint(r.url, ['user.created'])
    await upsertUser('gone-1')
    const disabled = await until(
      async () => (await t.call('GET', `/v1/webhooks/${id}`, { auth: tenant.liveKey })).body,
      (e) => e.enabled === false,
    )
    expect(disabled.disabledReason).toBe('gone')
    const [record] = await log(id)
    expect(record).toMatchObject({ status: 'failed', responseStatus: 410, nextAttemptAt: null })
    // Nothing goes to a disabled endpoint.
    await upsertUser('gone-2')
    const refused = await t.call('POST', `/v1/webhooks/${id}/test`, { auth: tenant.liveKey })
    expect(refused.status).toBe(409)
    expect(refused.body.code).toBe('conflict')
    const enabled = await t.call('PATCH', `/v1/webhooks/${id}`, { auth: tenant.liveKey, body: { enabled: true } })
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null })
    expect(r.received).toHaveLength(1)
  })

  it('does not follow a redirect', async () => {
    const target = await receiver()
    const r = await receiver(() => ({ status: 302, headers: { location: target.url } }))
    const { id } = await endpoint(r.url, ['user.created'])
    await upsertUser('redirected')
    const [record] = await until(() => log(id, '?status=failed'), (rows) => rows.length > 0)
    expect(record).toMatchObject({ responseStatus: 302, error: expect.stringMatching(/redirect/) })
    const pending = await log(id, '?status=pending')
    expect(pending).toHaveLength(1)
    expect(pending[0]).toMatchObject({ attempt: 2, eventId: record.eventId })
    expect(target.received).toHaveLength(0)
  })

  it('gives up on a slow receiver at the timeout and schedules a retry', async () => {
    const r = await receiver(() => ({ status: 200, delayMs: 3000 }))
    const { id } = await endpoint(r.url, ['user.created'])
    await upsertUser('slow')
    const [record] = await until(() => log(id, '?status=failed'), (rows) => rows.length > 0)
    expect(record).toMatchObject({ responseStatus: null, error: 'timed out after 1 s' })
    expect(record.durationMs).toBeGreaterThanOrEqual(900)
    const [next] = await log(id, '?status=pending')
    expect(Date.parse(next.nextAttemptAt) - Date.parse(record.attemptedAt)).toBeGreaterThanOrEqual(4500)
  })

  it('keeps at most the first 1 KB of an answer', async () => {
    const r = await receiver(() => ({ status: 500, body: 'x'.repeat(5000) }))
    const { id } = await endpoint(r.url, ['user.created'])
    await upsertUser('chatty')
    const [record] = await until(() => log(id, '?status=failed'), (rows) => rows.length > 0)
    expect(record).toMatchObject({ responseStatus: 500, error: 'HTTP 500' })
    expect(record.responseBody).toBe('x'.repeat(1024))
  })
})

describe('fairness', () => {
  let slow: TestParley
  beforeAll(async () => {
    // The default 15 s deadline: the hanging receiver holds its requests for the whole test.
    slow = await startParley({ env: { PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true', PARLEY_WEBHOOK_CONCURRENCY_PER_ENDPOINT: '4' } })
  })
  afterAll(() => slow.close())

  it('a receiver that hangs holds only its own slots: another endpoint gets everything meanwhile', async () => {
    const hanging = await receiver(() => 'hang')
    const healthy = await receiver()
    const owner = await slow.createTenant()
    for (const url of [hanging.url, healthy.url]) {
      expect((await slow.call('POST', '/v1/webhooks', { auth: owner.liveKey, body: { url, events: ['user.created'] } })).status).toBe(201)
    }
    for (let i = 0; i < 20; i++) await slow.call('POST', '/v1/users', { auth: owner.liveKey, body: { id: `fair-${i}` } })
    await healthy.waitFor(20)
    // Every request the hanging receiver got is still open: nothing of it timed out, yet the
    // other endpoint has all 20 events; and it got no more than its per-endpoint bound.
    expect(hanging.received).toHaveLength(4)
    expect(hanging.open).toBe(4)
    expect(new Set(healthy.received.map((x) => x.body.data.id)).size).toBe(20)
  })
})
