/**
 * Retries, order and recovery, driven by the queue's injectable clock: a retry due in 10 hours is
 * made as soon as the test moves the clock past it, so the suite never waits for the schedule.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from '../helpers/parley.js'
import { type Answer, ManualClock, type Receiver, startReceiver } from './receiver.js'

const clock = new ManualClock()
let t: TestParley
let tenant: TestTenant
const receivers: Receiver[] = []

beforeAll(async () => {
  t = await startParley({ env: { PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true', PARLEY_WEBHOOK_TIMEOUT_MS: '2000' }, clock })
  tenant = await t.createTenant()
})
afterAll(() => t.close())
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close()
})

async function receiver(answer: (index: number) => Answer): Promise<Receiver> {
  const r = await startReceiver((_request, index) => answer(index))
  receivers.push(r)
  return r
}

const call = (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) => t.call(method, url, { auth: tenant.liveKey, body })

async function endpoint(url: string, events: string[]): Promise<string> {
  const res = await call('POST', '/v1/webhooks', { url, events })
  expect(res.status, res.text).toBe(201)
  return res.body.id
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until no attempt is in flight and every outcome is written. */
async function settled(): Promise<void> {
  const worker = t.parley.services.webhooks.worker
  for (let i = 0; i < 500 && worker.busy > 0; i++) await sleep(10)
  expect(worker.busy).toBe(0)
}

/** Moves the clock (only between attempts: a lease is measured on this clock too) and wakes the worker. */
async function advance(ms: number): Promise<void> {
  await settled()
  clock.advance(ms)
  t.parley.services.webhooks.worker.wake()
}

const log = async (id: string) => (await call('GET', `/v1/webhooks/${id}/deliveries`)).body.data as any[]

describe('retries', () => {
  it('keeps the event id, changes the timestamp, and delivers after a 500', async () => {
    const r = await receiver((i) => ({ status: i === 0 ? 500 : 200 }))
    const id = await endpoint(r.url, ['user.created'])
    await call('POST', '/v1/users', { id: 'retried' })
    await r.waitFor(1)
    await settled()
    const [pending, failed] = await log(id)
    expect(failed).toMatchObject({ attempt: 1, status: 'failed', responseStatus: 500 })
    expect(pending).toMatchObject({ attempt: 2, status: 'pending', eventId: failed.eventId })
    // About 5 s later (±10 % jitter), on the queue's clock.
    const wait = Date.parse(pending.nextAttemptAt) - clock.now()
    expect(wait).toBeGreaterThanOrEqual(4500)
    expect(wait).toBeLessThanOrEqual(5500)

    await advance(2000)
    await sleep(100)
    expect(r.received).toHaveLength(1)
    await advance(4000)
    await r.waitFor(2)
    const [first, second] = r.received
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id'])
    expect(Number(second!.headers['webhook-timestamp']) - Number(first!.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(5)
    expect(second!.raw.equals(first!.raw)).toBe(true)
    await settled()
    expect((await log(id)).map((d) => [d.attempt, d.status])).toEqual([
      [2, 'succeeded'],
      [1, 'failed'],
    ])
  })

  it('honours Retry-After beyond the schedule', async () => {
    const r = await receiver(() => ({ status: 429, headers: { 'retry-after': '120' } }))
    const id = await endpoint(r.url, ['user.created'])
    await call('POST', '/v1/users', { id: 'throttled' })
    await r.waitFor(1)
    await settled()
    const [pending] = await log(id)
    expect(Date.parse(pending.nextAttemptAt) - clock.now()).toBeGreaterThanOrEqual(120_000)
    await call('PATCH', `/v1/webhooks/${id}`, { enabled: false })
  })

  it('fails for good after the last retry of the schedule, and recover sends the event again with its id', async () => {
    let healthy = false
    const r = await receiver(() => ({ status: healthy ? 200 : 503 }))
    const id = await endpoint(r.url, ['user.created'])
    await call('POST', '/v1/users', { id: 'recovered' })
    // 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (each +10 % jitter at most): 7 attempts in all.
    for (const [n, delay] of [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000].entries()) {
      await r.waitFor(n + 1)
      await advance(delay * 1.1 + 1000)
    }
    await r.waitFor(7)
    await settled()
    await sleep(50)
    const records = await log(id)
    expect(records).toHaveLength(7)
    expect(records.every((d) => d.status === 'failed')).toBe(true)
    expect(records[0]).toMatchObject({ attempt: 7, nextAttemptAt: null })
    expect(r.received).toHaveLength(7)
    expect(new Set(r.received.map((x) => x.headers['webhook-id'])).size).toBe(1)

    healthy = true
    const tooOld = await call('POST', `/v1/webhooks/${id}/recover`, { since: new Date(clock.now() - 15 * 86_400_000).toISOString() })
    expect(tooOld.status).toBe(400)
    expect(tooOld.body.code).toBe('validation_failed')
    const recovered = await call('POST', `/v1/webhooks/${id}/recover`, { since: new Date(clock.now() - 86_400_000).toISOString() })
    expect(recovered.status, recovered.text).toBe(202)
    expect(recovered.body).toEqual({ count: 1 })
    await r.waitFor(8)
    expect(r.received[7]!.headers['webhook-id']).toBe(r.received[0]!.headers['webhook-id'])
    await settled()
    // Delivered now: recovering again finds nothing to queue.
    expect((await call('POST', `/v1/webhooks/${id}/recover`, { since: new Date(clock.now() - 86_400_000).toISOString() })).body).toEqual({ count: 0 })
  })

  it('a manual retry attempts the event again now', async () => {
    const r = await receiver((i) => (i === 0 ? { status: 410 } : { status: 200 }))
    const id = await endpoint(r.url, ['user.created'])
    await call('POST', '/v1/users', { id: 'manual' })
    await r.waitFor(1)
    await settled()
    const [failed] = await log(id)
    expect(failed.status).toBe('failed')
    expect((await call('POST', `/v1/webhooks/${id}/deliveries/${failed.id}/retry`)).status).toBe(409)
    await call('PATCH', `/v1/webhooks/${id}`, { enabled: true })
    const retried = await call('POST', `/v1/webhooks/${id}/deliveries/${failed.id}/retry`)
    expect(retried.status, retried.text).toBe(202)
    expect(retried.body).toMatchObject({ eventId: failed.eventId, attempt: 2, status: 'pending' })
    await r.waitFor(2)
    expect(r.received[1]!.headers['webhook-id']).toBe(failed.eventId)
    expect((await call('POST', `/v1/webhooks/${id}/deliveries/dlv_nope/retry`)).status).toBe(404)
  })

  it("delivers a deleted user's user.created without the profile it no longer has", async () => {
    const r = await receiver((i) => ({ status: i === 0 ? 500 : 200 }))
    await endpoint(r.url, ['user.created', 'user.deleted'])
    await call('POST', '/v1/users', { id: 'forgotten', displayName: 'Secret Name', metadata: { plan: 'gold' } })
    await r.waitFor(1)
    expect(r.received[0]!.body.data).toMatchObject({ displayName: 'Secret Name', metadata: { plan: 'gold' } })
    await settled()
    expect((await t.call('DELETE', '/v1/users/forgotten', { auth: tenant.liveKey })).status).toBe(204)
    await advance(6000)
    await r.waitFor(3)
    const created = r.received.filter((x) => x.body.type === 'user.created').map((x) => x.body.data)
    expect(created[1]).toMatchObject({ id: 'forgotten', displayName: null, metadata: null })
    expect(JSON.stringify(r.received.slice(1).map((x) => x.body))).not.toContain('Secret Name')
  })

  it('disables an endpoint whose every attempt has failed for 5 days', async () => {
    const r = await receiver(() => ({ status: 500 }))
    const id = await endpoint(r.url, ['user.created'])
    await call('POST', '/v1/users', { id: 'failing-1' })
    await r.waitFor(1)
    await advance(4 * 86_400_000)
    await call('POST', '/v1/users', { id: 'failing-2' })
    await r.waitFor((() => r.received.some((x) => x.body.data.id === 'failing-2')))
    await settled()
    expect((await call('GET', `/v1/webhooks/${id}`)).body.enabled).toBe(true)
    await advance(86_400_000 + 60_000)
    await call('POST', '/v1/users', { id: 'failing-3' })
    await r.waitFor(() => r.received.some((x) => x.body.data.id === 'failing-3'))
    await settled()
    const endpointNow = (await call('GET', `/v1/webhooks/${id}`)).body
    expect(endpointNow).toMatchObject({ enabled: false, disabledReason: 'failing' })
    // What was still waiting failed with it, and stays in the log for recover.
    expect((await log(id)).filter((d) => d.status === 'pending')).toEqual([])
  })
})

describe('order per conversation', () => {
  async function conversationWithMessages(count: number): Promise<string> {
    await call('POST', '/v1/users', { id: 'ann' })
    await call('POST', '/v1/users', { id: 'bob' })
    const conversation = await call('POST', '/v1/conversations', { type: 'group', members: ['ann', 'bob'] })
    for (let i = 1; i <= count; i++) await call('POST', `/v1/conversations/${conversation.body.id}/messages`, { text: `m${i}`, senderId: 'ann' })
    return conversation.body.id
  }

  it('holds across a retry: later messages wait for the earlier one', async () => {
    const r = await receiver((i) => ({ status: i === 0 ? 500 : 200 }))
    await endpoint(r.url, ['message.created'])
    await conversationWithMessages(3)
    await r.waitFor(1)
    await sleep(300)
    // seq 1 failed and waits for its retry: 2 and 3 wait behind it.
    expect(r.received.map((x) => x.body.data.seq)).toEqual([1])
    await advance(6000)
    await r.waitFor(4)
    expect(r.received.map((x) => x.body.data.seq)).toEqual([1, 1, 2, 3])
  })

  it('waits at most a minute for an earlier message being retried', async () => {
    // seq 1 is asked to come back in an hour; 2 and 3 wait a minute for it, then go.
    const r = await receiver((i) => (i === 0 ? { status: 429, headers: { 'retry-after': '3600' } } : { status: 200 }))
    await endpoint(r.url, ['message.created'])
    await conversationWithMessages(3)
    await r.waitFor(1)
    await advance(30_000)
    await sleep(300)
    expect(r.received).toHaveLength(1)
    await advance(31_000)
    await r.waitFor(3)
    expect(r.received.map((x) => x.body.data.seq)).toEqual([1, 2, 3])
  })
})
