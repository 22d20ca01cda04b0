/**
 * What the providers' answers do (API.md §10), against the fakes, with the queue's clock in the
 * test's hands (retries minutes apart run at once): a device each provider reports gone is deleted
 * at once and the notification is `pruned` with the reason; 429 and 5xx are retried (at most 3
 * attempts within 10 minutes, never before Retry-After), then `failed`; other refusals fail at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../webhooks/receiver.js'
import { sleep } from '../helpers/wait.js'
import { APNS_ANSWERS } from './fakes/apns.js'
import { FCM_ANSWERS } from './fakes/fcm.js'
import { WEBPUSH_ANSWERS } from './fakes/webpush.js'
import { type Device, type PushTenant, type PushWorld, requestsTo, startPushWorld } from './world.js'

const clock = new ManualClock()
let w: PushWorld
beforeAll(async () => (w = await startPushWorld({ clock })))
afterAll(() => w?.close())

/** Waits until no send is in flight and every outcome is written. */
async function settled(): Promise<void> {
  const worker = w.t.parley.services.push.worker
  for (let i = 0; i < 500 && worker.busy > 0; i++) await sleep(10)
  expect(worker.busy).toBe(0)
}

/** Moves the queue's clock (between attempts only) and wakes the worker. */
async function advance(ms: number): Promise<void> {
  await settled()
  clock.advance(ms)
  w.t.parley.services.push.worker.wake()
}

/** A tenant where ann writes to carol, who has the devices the test gives her. */
async function tenantWithCarol(): Promise<{ tenant: PushTenant; conversation: string }> {
  const tenant = await w.tenant()
  await tenant.users('ann', 'carol')
  return { tenant, conversation: await tenant.group(['ann', 'carol']) }
}

const answerFor = (tenant: PushTenant, device: Device, answer: any) => {
  if (device.provider === 'apns') w.apns.answers.byDevice.set(device.token!, answer)
  else if (device.provider === 'fcm') w.fcm.answers.byDevice.set(device.token!, answer)
  else tenant.webpush.answers.byDevice.set(device.subscription!.id, answer)
}

describe('a device the provider reports gone', () => {
  it('is deleted at once, and its notification is pruned with the reason, on every provider', async () => {
    const { tenant, conversation } = await tenantWithCarol()
    const cases = [
      { provider: 'apns', answer: APNS_ANSWERS.unregistered, reason: 'Unregistered', status: 410 },
      { provider: 'apns', answer: APNS_ANSWERS.badDeviceToken, reason: 'BadDeviceToken', status: 400 },
      { provider: 'fcm', answer: FCM_ANSWERS.unregistered, reason: 'UNREGISTERED', status: 404 },
      { provider: 'fcm', answer: FCM_ANSWERS.invalidToken, reason: 'INVALID_ARGUMENT', status: 400 },
      { provider: 'webpush', answer: WEBPUSH_ANSWERS.notFound, reason: 'Not Found', status: 404 },
      { provider: 'webpush', answer: WEBPUSH_ANSWERS.gone, reason: 'Gone', status: 410 },
    ] as const
    const devices: Device[] = []
    for (const c of cases) {
      const device = await tenant.device('carol', c.provider)
      answerFor(tenant, device, c.answer)
      devices.push(device)
    }
    const healthy = await tenant.device('carol', 'apns')
    await tenant.send(conversation, 'ann', 'are you there?')

    const log = await tenant.logged(cases.length, (r) => r.status === 'pruned')
    cases.forEach((c, i) => {
      const record = log.find((r) => r.deviceId === devices[i]!.id)
      expect(record, c.provider).toMatchObject({ status: 'pruned', attempt: 1, responseStatus: c.status, provider: c.provider })
      expect(record.reason).toContain(c.reason)
      expect(record.reason).toContain('deleted')
    })
    await tenant.logged(1, (r) => r.deviceId === healthy.id && r.status === 'sent')
    await settled()
    expect((await tenant.call('GET', '/v1/users/carol/devices')).body.data.map((d: any) => d.id)).toEqual([healthy.id])

    // The next message goes to the device that is left, and to none of the pruned.
    await tenant.send(conversation, 'ann', 'still there?')
    await tenant.logged(2, (r) => r.deviceId === healthy.id && r.status === 'sent')
    for (const device of devices) expect(requestsTo(w, tenant, device), device.provider).toHaveLength(1)
  })

  it('is kept when the refusal is not about it: the notification fails at once, with no retry', async () => {
    const { tenant, conversation } = await tenantWithCarol()
    const fcm = await tenant.device('carol', 'fcm')
    const apns = await tenant.device('carol', 'apns')
    answerFor(tenant, fcm, FCM_ANSWERS.invalidPayload)
    answerFor(tenant, apns, APNS_ANSWERS.payloadTooLarge)
    await tenant.send(conversation, 'ann', 'hello')
    const log = await tenant.logged(2, (r) => r.status === 'failed')
    expect(log.map((r) => r.responseStatus).sort()).toEqual([400, 413])
    expect(log.find((r) => r.provider === 'apns').reason).toBe('PayloadTooLarge')
    await advance(15 * 60_000)
    await sleep(100)
    await settled()
    expect(requestsTo(w, tenant, fcm)).toHaveLength(1)
    expect(requestsTo(w, tenant, apns)).toHaveLength(1)
    expect((await tenant.call('GET', '/v1/users/carol/devices')).body.data).toHaveLength(2)
  })
})

describe('retries', () => {
  it('tries again after a 5xx and succeeds', async () => {
    const { tenant, conversation } = await tenantWithCarol()
    const apns = await tenant.device('carol', 'apns')
    w.apns.answers.next.push(APNS_ANSWERS.unavailable)
    await tenant.send(conversation, 'ann', 'second time lucky')
    const [pending] = await tenant.logged(1, (r) => r.status === 'pending' && r.attempt === 1)
    expect(pending).toMatchObject({ responseStatus: 503, reason: 'ServiceUnavailable' })
    await advance(12_000)
    const [sent] = await tenant.logged(1, (r) => r.status === 'sent')
    expect(sent).toMatchObject({ attempt: 2, responseStatus: 200, reason: null })
    expect(requestsTo(w, tenant, apns).map((r) => r.status)).toEqual([503, 200])
    // Both attempts are rows of the shared queue, under the notification's id.
    const attempts = await w.t.parley.store.db.selectFrom('deliveries').select(['attempt', 'status']).where('kind', '=', 'push').where('event_id', '=', sent.id).orderBy('attempt').execute()
    expect(attempts).toEqual([{ attempt: 1, status: 'failed' }, { attempt: 2, status: 'succeeded' }])
  })

  it('waits for Retry-After after a 429', async () => {
    const { tenant, conversation } = await tenantWithCarol()
    const fcm = await tenant.device('carol', 'fcm')
    w.fcm.answers.next.push(FCM_ANSWERS.tooMany(120))
    await tenant.send(conversation, 'ann', 'slow down')
    await tenant.logged(1, (r) => r.status === 'pending' && r.responseStatus === 429)
    // Past the schedule's first delay, short of what the provider asked for: nothing yet.
    await advance(60_000)
    await sleep(200)
    expect(requestsTo(w, tenant, fcm)).toHaveLength(1)
    await advance(61_000)
    await tenant.logged(1, (r) => r.status === 'sent' && r.attempt === 2)
  })

  it('gives up after 3 attempts', async () => {
    const { tenant, conversation } = await tenantWithCarol()
    const webpush = await tenant.device('carol', 'webpush')
    answerFor(tenant, webpush, WEBPUSH_ANSWERS.unavailable)
    await tenant.send(conversation, 'ann', 'anyone?')
    await tenant.logged(1, (r) => r.attempt === 1 && r.responseStatus === 503)
    await advance(12_000)
    await tenant.logged(1, (r) => r.attempt === 2)
    await advance(70_000)
    const [failed] = await tenant.logged(1, (r) => r.status === 'failed')
    expect(failed).toMatchObject({ attempt: 3, responseStatus: 503 })
    expect(failed.reason).toContain('gave up after 3 attempts')
    await advance(10 * 60_000)
    await sleep(100)
    await settled()
    expect(requestsTo(w, tenant, webpush)).toHaveLength(3)
    // A device that only fails is not gone: it stays.
    expect((await tenant.call('GET', '/v1/users/carol/devices')).body.data).toHaveLength(1)
  })

  it('gives up at once when Retry-After falls past the 10 minutes', async () => {
    const { tenant, conversation } = await tenantWithCarol()
    const apns = await tenant.device('carol', 'apns')
    answerFor(tenant, apns, APNS_ANSWERS.tooMany(900))
    await tenant.send(conversation, 'ann', 'later, maybe')
    const [failed] = await tenant.logged(1, (r) => r.status === 'failed')
    expect(failed).toMatchObject({ attempt: 1, responseStatus: 429 })
    expect(failed.reason).toContain('10 minutes')
    await advance(16 * 60_000)
    await sleep(100)
    await settled()
    expect(requestsTo(w, tenant, apns)).toHaveLength(1)
  })
})

describe('metrics', () => {
  it('counts notifications by provider and status, and the queue depth', async () => {
    const res = await w.t.call('GET', '/metrics', { auth: w.t.adminKey })
    expect(res.text).toMatch(/parley_push_notifications_total\{provider="apns",status="sent"\} [1-9]/)
    expect(res.text).toMatch(/parley_push_notifications_total\{provider="fcm",status="pruned"\} [1-9]/)
    expect(res.text).toMatch(/parley_push_notifications_total\{provider="webpush",status="failed"\} [1-9]/)
    expect(res.text).toMatch(/parley_push_notifications_total\{provider="fcm",status="retrying"\} [1-9]/)
    expect(res.text).toMatch(/parley_delivery_queue_depth\{kind="push"\} \d+/)
  })
})
