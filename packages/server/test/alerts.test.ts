import { afterEach, beforeEach, expect, it } from 'vitest'
import type { DomainEvent } from '../src/events/envelope.js'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { sleep } from './helpers/wait.js'

let t: TestParley
let tenant: TestTenant
let emitted: DomainEvent[]
beforeEach(async () => {
  t = await startParley()
  tenant = await t.createTenant()
  emitted = []
  t.parley.services.events.subscribe((event) => emitted.push(event))
})
afterEach(() => t.close())

const alertEvents = async () => (await t.call('GET', '/v1/alerts/events', { auth: tenant.liveKey })).body.data

it('stores the rules per environment', async () => {
  const rules = { errorRate: { percent: 50, minRequests: 5 }, nearLimit: { percent: 80 } }
  expect((await t.call('PUT', '/v1/alerts', { auth: tenant.liveKey, body: rules })).status).toBe(200)
  expect((await t.call('GET', '/v1/alerts', { auth: tenant.liveKey })).body).toEqual(rules)
  expect((await t.call('GET', '/v1/alerts', { auth: tenant.testKey })).body).toEqual({})
  const bad = await t.call('PUT', '/v1/alerts', { auth: tenant.liveKey, body: { errorRate: { percent: 150, minRequests: 1 } } })
  expect(bad.status).toBe(400)
})

it('fires errorRate once per key per hour, and only when the condition holds', async () => {
  await t.call('PUT', '/v1/alerts', { auth: tenant.liveKey, body: { errorRate: { percent: 50, minRequests: 10 } } })
  for (let i = 0; i < 6; i++) await t.call('GET', '/v1/keys/key_nope', { auth: tenant.liveKey })
  await t.parley.flush()
  expect(await alertEvents()).toHaveLength(0) // 6 requests so far: below minRequests (the PUT counted too)

  for (let i = 0; i < 6; i++) await t.call('GET', '/v1/keys/key_nope', { auth: tenant.liveKey })
  await t.parley.flush()
  const fired = await alertEvents()
  expect(fired).toHaveLength(1)
  expect(fired[0]).toMatchObject({ keyId: tenant.liveKeyId, rule: 'errorRate' })
  expect(emitted.filter((e) => e.type === 'key.alert')).toHaveLength(1)

  for (let i = 0; i < 20; i++) await t.call('GET', '/v1/keys/key_nope', { auth: tenant.liveKey })
  await t.parley.flush()
  expect((await alertEvents()).filter((e: { rule: string }) => e.rule === 'errorRate')).toHaveLength(1)
})

it('does not fire errorRate when most requests succeed', async () => {
  await t.call('PUT', '/v1/alerts', { auth: tenant.liveKey, body: { errorRate: { percent: 50, minRequests: 5 } } })
  for (let i = 0; i < 20; i++) await t.call('GET', '/v1/me', { auth: tenant.liveKey })
  for (let i = 0; i < 5; i++) await t.call('GET', '/v1/keys/key_nope', { auth: tenant.liveKey })
  await t.parley.flush()
  expect(await alertEvents()).toHaveLength(0)
})

it('fires trafficSpike when the latest minute jumps above the hourly average', async () => {
  // The rule looks at the latest minute bucket: keep all requests of this test inside one minute.
  const intoMinute = Date.now() % 60_000
  if (intoMinute > 55_000) await sleep(60_500 - intoMinute)
  await t.call('PUT', '/v1/alerts', { auth: tenant.liveKey, body: { trafficSpike: { factor: 3, minRequests: 30 } } })
  for (let i = 0; i < 20; i++) await t.call('GET', '/v1/me', { auth: tenant.liveKey })
  await t.parley.flush()
  expect(await alertEvents()).toHaveLength(0) // 21 requests: under minRequests
  for (let i = 0; i < 20; i++) await t.call('GET', '/v1/me', { auth: tenant.liveKey })
  await t.parley.flush()
  const fired = await alertEvents()
  expect(fired.map((e: { rule: string }) => e.rule)).toEqual(['trafficSpike'])
})
