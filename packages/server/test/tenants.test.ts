/**
 * Operator endpoints for tenants (API.md §2): create with one secret key per environment, list,
 * get, patch (name, plan, rateLimit, suspended), delete — and what suspension and deletion do to
 * the tenant's keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, startParley } from './helpers/parley.js'
import { expectProblem } from './helpers/problems.js'
import { ISO_TIMESTAMP } from './helpers/values.js'

let t: TestParley
beforeAll(async () => {
  t = await startParley()
})
afterAll(() => t.close())

const admin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) => t.call(method, url, { auth: t.adminKey, body })

describe('POST /v1/admin/tenants', () => {
  it('creates a tenant with one live and one test secret key, plaintext once', async () => {
    const res = await admin('POST', '/v1/admin/tenants', { name: 'Acme' })
    expect(res.status).toBe(201)
    const { tenant, keys } = res.body
    expect(tenant).toEqual({
      id: expect.stringMatching(/^ten_[A-Za-z0-9]{16,}$/),
      name: 'Acme',
      plan: 'free',
      rateLimit: null,
      suspended: false,
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
      updatedAt: expect.stringMatching(ISO_TIMESTAMP),
    })
    for (const environment of ['live', 'test'] as const) {
      const key = keys[environment]
      expect(key).toMatchObject({ type: 'secret', environment, scopes: [], status: 'active', expiresAt: null, lastUsedAt: null })
      expect(key.id).toMatch(/^key_/)
      expect(key.key).toMatch(new RegExp(`^sk_${environment}_[0-9A-Za-z]{38}$`))
      expect(key.display).toBe(`sk_${environment}_${key.key.slice(8, 12)}\u2026${key.key.slice(-4)}`)
      const me = await t.call('GET', '/v1/me', { auth: key.key })
      expect(me.body).toEqual({ tenant: { id: tenant.id, name: 'Acme', plan: 'free' }, environment, key: { id: key.id, type: 'secret', scopes: [] } })
    }
    expect(keys.live.key).not.toBe(keys.test.key)
  })

  it('takes a plan and refuses an unknown one', async () => {
    const res = await admin('POST', '/v1/admin/tenants', { name: 'Big', plan: 'enterprise' })
    expect(res.status).toBe(201)
    expect(res.body.tenant.plan).toBe('enterprise')
    const bad = await admin('POST', '/v1/admin/tenants', { name: 'Odd', plan: 'platinum' })
    expect(bad.status).toBe(400)
    expect(bad.body.code).toBe('validation_failed')
    expect(bad.body.errors[0].param).toBe('plan')
  })

  it('validates the body', async () => {
    for (const body of [{}, { name: '' }, { name: 'x', colour: 'red' }]) {
      const res = await admin('POST', '/v1/admin/tenants', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.code).toBe('validation_failed')
    }
  })

  it('needs the admin key: a tenant secret key gets 403 forbidden', async () => {
    const tenant = await t.createTenant()
    const res = await t.call('POST', '/v1/admin/tenants', { auth: tenant.liveKey, body: { name: 'Sneaky' } })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('forbidden')
  })
})

describe('GET /v1/admin/tenants', () => {
  it('pages through every tenant, newest first, with a cursor', async () => {
    const fresh = await startParley()
    try {
      const created: string[] = []
      for (let i = 0; i < 5; i++) created.push((await fresh.createTenant()).id)
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const url: string = `/v1/admin/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`
        const res = await fresh.call('GET', url, { auth: fresh.adminKey })
        expect(res.status).toBe(200)
        expect(res.body.data.length).toBeLessThanOrEqual(2)
        seen.push(...res.body.data.map((x: { id: string }) => x.id))
        cursor = res.body.nextCursor
      } while (cursor)
      // Every tenant once; newest first (same-millisecond ties are ordered by id).
      const all = await fresh.call('GET', '/v1/admin/tenants', { auth: fresh.adminKey })
      expect(seen).toEqual(all.body.data.map((x: { id: string }) => x.id))
      expect([...seen].sort()).toEqual([...created].sort())
      const times = all.body.data.map((x: { createdAt: string }) => x.createdAt)
      expect(times).toEqual([...times].sort().reverse())
    } finally {
      await fresh.close()
    }
  })
})

describe('GET / PATCH / DELETE /v1/admin/tenants/{id}', () => {
  it('gets a tenant, and 404 for an unknown id', async () => {
    const tenant = await t.createTenant('starter')
    const res = await admin('GET', `/v1/admin/tenants/${tenant.id}`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: tenant.id, plan: 'starter', suspended: false })
    const missing = await admin('GET', '/v1/admin/tenants/ten_doesNotExist0000000000')
    expect(missing.status).toBe(404)
    expect(missing.body.code).toBe('not_found')
  })

  it('patches name, plan and rateLimit, and GET /v1/me sees the change', async () => {
    const tenant = await t.createTenant('free')
    const res = await admin('PATCH', `/v1/admin/tenants/${tenant.id}`, {
      name: 'Renamed',
      plan: 'starter',
      rateLimit: { limit: 500, windowSeconds: 60 },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ name: 'Renamed', plan: 'starter', rateLimit: { limit: 500, windowSeconds: 60 } })
    expect(res.body.updatedAt >= res.body.createdAt).toBe(true)
    const me = await t.call('GET', '/v1/me', { auth: tenant.liveKey })
    expect(me.body.tenant).toEqual({ id: tenant.id, name: 'Renamed', plan: 'starter' })
    const cleared = await admin('PATCH', `/v1/admin/tenants/${tenant.id}`, { rateLimit: null })
    expect(cleared.body.rateLimit).toBeNull()
    expect(cleared.body.name).toBe('Renamed')
  })

  it('refuses an unknown plan and unknown fields', async () => {
    const tenant = await t.createTenant()
    expect((await admin('PATCH', `/v1/admin/tenants/${tenant.id}`, { plan: 'gold' })).body.code).toBe('validation_failed')
    expect((await admin('PATCH', `/v1/admin/tenants/${tenant.id}`, { deletedAt: null })).body.code).toBe('validation_failed')
    expect((await admin('PATCH', '/v1/admin/tenants/ten_missing', { name: 'x' })).status).toBe(404)
  })

  it('suspending a tenant makes its keys 403 forbidden; reinstating restores them', async () => {
    const tenant = await t.createTenant()
    const suspended = await admin('PATCH', `/v1/admin/tenants/${tenant.id}`, { suspended: true })
    expect(suspended.body.suspended).toBe(true)
    for (const key of [tenant.liveKey, tenant.testKey]) {
      expectProblem(await t.call('GET', '/v1/me', { auth: key }), 403, 'forbidden')
    }
    await admin('PATCH', `/v1/admin/tenants/${tenant.id}`, { suspended: false })
    expect((await t.call('GET', '/v1/me', { auth: tenant.liveKey })).status).toBe(200)
  })

  it('deleting a tenant answers 204; it is gone and its keys get 401 invalid_api_key', async () => {
    const tenant = await t.createTenant()
    expect((await t.call('GET', '/v1/me', { auth: tenant.liveKey })).status).toBe(200) // cached now
    const res = await admin('DELETE', `/v1/admin/tenants/${tenant.id}`)
    expect(res.status).toBe(204)
    expect(res.text).toBe('')
    for (const key of [tenant.liveKey, tenant.testKey]) {
      const me = await t.call('GET', '/v1/me', { auth: key })
      expect(me.status).toBe(401)
      expect(me.body.code).toBe('invalid_api_key')
    }
    expect((await admin('GET', `/v1/admin/tenants/${tenant.id}`)).status).toBe(404)
    expect((await admin('DELETE', `/v1/admin/tenants/${tenant.id}`)).status).toBe(404)
    expect((await admin('PATCH', `/v1/admin/tenants/${tenant.id}`, { suspended: false })).status).toBe(404)
    const list = await admin('GET', '/v1/admin/tenants?limit=200')
    expect(list.body.data.map((x: { id: string }) => x.id)).not.toContain(tenant.id)
  })

  it('the admin key cannot act on a deleted tenant either', async () => {
    const tenant = await t.createTenant()
    await admin('DELETE', `/v1/admin/tenants/${tenant.id}`)
    const res = await t.call('GET', '/v1/me', { auth: t.adminKey, headers: { 'x-tenant-id': tenant.id, 'x-environment': 'live' } })
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('not_found')
  })
})
