import { afterAll, beforeAll, expect, it } from 'vitest'
import { type TestParley, startParley } from './helpers/parley.js'

let t: TestParley
beforeAll(async () => {
  t = await startParley()
})
afterAll(() => t.close())

it('creates a tenant and answers GET /v1/me', async () => {
  const tenant = await t.createTenant()
  const me = await t.call('GET', '/v1/me', { headers: { 'x-api-key': tenant.liveKey } })
  expect(me.status).toBe(200)
  expect(me.body).toEqual({ tenant: { id: tenant.id, name: 'Acme', plan: 'pro' }, environment: 'live', key: { id: tenant.liveKeyId, type: 'secret', scopes: [] } })
})
