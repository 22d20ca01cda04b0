/**
 * Usage counts every request that authenticated with a key, whatever its status (API.md §3): also
 * the ones the route then refused for the key's scope, origin or type, or for a tenant header that
 * names another tenant. So an errorRate alert sees a misconfigured key.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { expectProblem } from './helpers/problems.js'

let t: TestParley
let tenant: TestTenant
let scoped: { id: string; key: string }
let publishable: { id: string; key: string }
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant('starter')
  const create = async (body: object) => (await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body })).body as { id: string; key: string }
  scoped = await create({ name: 'reports', type: 'secret', scopes: ['users:read'] })
  publishable = await create({ name: 'site', type: 'publishable', allowedOrigins: ['https://app.example.com'] })
})
afterAll(() => t.close())

const totalsOf = async (keyId: string) => {
  await t.parley.flush()
  return (await t.call('GET', `/v1/keys/${keyId}/usage`, { auth: tenant.liveKey })).body.totals
}

it('counts requests refused for scope, key type, origin and tenant header against the key', async () => {
  expectProblem(await t.call('GET', '/v1/keys', { auth: scoped.key }), 403, 'insufficient_scope')
  expectProblem(await t.call('GET', '/v1/users', { auth: scoped.key, headers: { 'x-tenant-id': 'ten_someoneElse000000000' } }), 401, 'tenant_mismatch')
  expect((await t.call('GET', '/v1/users', { auth: scoped.key })).status).toBe(200)
  expect(await totalsOf(scoped.id)).toMatchObject({ requests: 3, success: 1, clientErrors: 2 })

  const fromElsewhere = { 'x-api-key': publishable.key, origin: 'https://evil.example' }
  expectProblem(await t.call('GET', '/v1/tenant', { headers: fromElsewhere }), 403, 'origin_not_allowed')
  expectProblem(await t.call('GET', '/v1/users', { headers: { 'x-api-key': publishable.key } }), 403, 'key_type_not_allowed')
  expect(await totalsOf(publishable.id)).toMatchObject({ requests: 2, success: 0, clientErrors: 2 })
})

it('lets an errorRate alert see a key whose every request is refused', async () => {
  await t.call('PUT', '/v1/alerts', { auth: tenant.liveKey, body: { errorRate: { percent: 50, minRequests: 5 } } })
  for (let i = 0; i < 6; i++) expectProblem(await t.call('GET', '/v1/conversations', { auth: scoped.key }), 403, 'insufficient_scope')
  await t.parley.flush()
  const fired = (await t.call('GET', '/v1/alerts/events', { auth: tenant.liveKey })).body.data
  expect(fired).toContainEqual(expect.objectContaining({ keyId: scoped.id, rule: 'errorRate' }))
})
