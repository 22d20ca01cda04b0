/**
 * The rules around API keys (API.md §1, §3, §9): GET /v1/me, plan limits, scope escalation,
 * rate-limit ceilings, how a key is sent (headers, Bearer, tenant header, query string) and
 * refused (401/403 with WWW-Authenticate), expiry, and two nodes on one database.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem, keyCalls } from './helpers/keys.js'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { sleep } from './helpers/wait.js'


let t: TestParley
let tenant: TestTenant
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
})
afterAll(() => t.close())

const { call, createKey } = keyCalls(() => t)

describe('GET /v1/me', () => {
  it('describes a scoped secret key', async () => {
    const created = await createKey(tenant.liveKey, { scopes: ['keys:read'] })
    const res = await call(created.key, 'GET', '/v1/me')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ tenant: { id: tenant.id, name: 'Acme', plan: 'pro' }, environment: 'live', key: { id: created.id, type: 'secret', scopes: ['keys:read'] } })
  })

  it('describes the admin acting on a tenant', async () => {
    for (const environment of ['live', 'test']) {
      const res = await t.call('GET', '/v1/me', { auth: t.adminKey, headers: { 'x-tenant-id': tenant.id, 'x-environment': environment } })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ tenant: { id: tenant.id, name: 'Acme', plan: 'pro' }, environment, key: { id: 'admin', type: 'admin', scopes: [] } })
    }
  })

  it('the admin needs both x-tenant-id and a valid x-environment', async () => {
    const cases: Record<string, string>[] = [{ 'x-tenant-id': tenant.id }, { 'x-environment': 'live' }, { 'x-tenant-id': tenant.id, 'x-environment': 'prod' }]
    for (const headers of cases) {
      expectProblem(await t.call('GET', '/v1/me', { auth: t.adminKey, headers }), 400, 'invalid_request')
    }
    const unknown = await t.call('GET', '/v1/me', { auth: t.adminKey, headers: { 'x-tenant-id': 'ten_nope', 'x-environment': 'live' } })
    expectProblem(unknown, 404, 'not_found')
  })

  it('the admin acting on a tenant works in that environment only', async () => {
    const headers = { 'x-tenant-id': tenant.id, 'x-environment': 'test' }
    const created = await t.call('POST', '/v1/keys', { auth: t.adminKey, headers, body: { name: 'by admin', type: 'secret' } })
    expect(created.status).toBe(201)
    expect(created.body.environment).toBe('test')
    expect(created.body.key).toMatch(/^sk_test_/)
    expectProblem(await call(tenant.liveKey, 'GET', `/v1/keys/${created.body.id}`), 404, 'not_found')
  })
})

describe('plan key limits', () => {
  it('free plan: 3 active keys per environment, then 403 plan_limit_reached; revoked keys do not count', async () => {
    const free = await t.createTenant('free')
    await createKey(free.liveKey)
    const third = await createKey(free.liveKey, { type: 'publishable' })
    const refused = await call(free.liveKey, 'POST', '/v1/keys', { name: 'fourth', type: 'secret' })
    expectProblem(refused, 403, 'plan_limit_reached')
    expect(refused.body.key).toBeUndefined()
    // The other environment has its own allowance.
    await createKey(free.testKey)
    // Revoking one frees a place.
    await call(free.liveKey, 'POST', `/v1/keys/${third.id}/revoke`)
    await createKey(free.liveKey, { name: 'fourth' })
    expectProblem(await call(free.liveKey, 'POST', '/v1/keys', { name: 'fifth', type: 'secret' }), 403, 'plan_limit_reached')
    expect((await call(free.liveKey, 'GET', '/v1/keys')).body.data).toHaveLength(4)
  })

  it('expired keys do not count', async () => {
    const free = await t.createTenant('free')
    await createKey(free.liveKey, { expiresAt: new Date(Date.now() + 800).toISOString() })
    await createKey(free.liveKey)
    expectProblem(await call(free.liveKey, 'POST', '/v1/keys', { name: 'x', type: 'secret' }), 403, 'plan_limit_reached')
    await sleep(900)
    await createKey(free.liveKey)
  })

  it('starter allows 10 and pro is unlimited', async () => {
    const starter = await t.createTenant('starter')
    for (let i = 0; i < 9; i++) await createKey(starter.liveKey)
    expectProblem(await call(starter.liveKey, 'POST', '/v1/keys', { name: 'x', type: 'secret' }), 403, 'plan_limit_reached')
    const pro = await t.createTenant('pro')
    for (let i = 0; i < 12; i++) await createKey(pro.liveKey)
  })
})

describe('scope escalation', () => {
  let scoped: { key: string; id: string }
  beforeAll(async () => {
    scoped = await createKey(tenant.liveKey, { scopes: ['keys:write', 'keys:read'] })
  })

  it('a scoped key cannot create an unscoped key or one with scopes it lacks', async () => {
    for (const scopes of [undefined, [], ['users:read'], ['keys:read', 'users:read'], ['keys:*', 'usage:read'], ['*:read']]) {
      const res = await call(scoped.key, 'POST', '/v1/keys', { name: 'wider', type: 'secret', ...(scopes && { scopes }) })
      expectProblem(res, 403, 'insufficient_scope')
      expect(res.body.key).toBeUndefined()
    }
  })

  it('it can create keys within its scopes (and publishable keys)', async () => {
    expect((await createKey(scoped.key, { scopes: ['keys:read'] })).scopes).toEqual(['keys:read'])
    expect((await createKey(scoped.key, { scopes: ['keys:*'] })).scopes).toEqual(['keys:*'])
    expect((await createKey(scoped.key, { type: 'publishable' })).type).toBe('publishable')
  })

  it('it cannot roll a wider key, nor widen one by PATCH', async () => {
    const wide = await createKey(tenant.liveKey, { scopes: ['keys:read', 'users:read'] })
    expectProblem(await call(scoped.key, 'POST', `/v1/keys/${wide.id}/roll`), 403, 'insufficient_scope')
    expect((await call(wide.key, 'GET', '/v1/me')).status).toBe(200) // the failed roll changed nothing
    const narrow = await createKey(tenant.liveKey, { scopes: ['keys:read'] })
    const widened = await call(scoped.key, 'PATCH', `/v1/keys/${narrow.id}`, { scopes: ['keys:read', 'users:read'] })
    expectProblem(widened, 400, 'validation_failed')
    // Narrowing a key that is wider than the caller still may not hand out scopes the caller lacks.
    expectProblem(await call(scoped.key, 'PATCH', `/v1/keys/${wide.id}`, { scopes: ['users:read'] }), 403, 'insufficient_scope')
    expect((await call(tenant.liveKey, 'GET', `/v1/keys/${wide.id}`)).body.scopes).toEqual(['keys:read', 'users:read'])
  })

  it('it cannot revoke or edit a wider key or an unscoped one; it can revoke keys within its scopes and publishable keys', async () => {
    const wide = await createKey(tenant.liveKey, { scopes: ['keys:read', 'users:read'] })
    for (const id of [wide.id, tenant.liveKeyId]) {
      expectProblem(await call(scoped.key, 'POST', `/v1/keys/${id}/revoke`), 403, 'insufficient_scope')
      expectProblem(await call(scoped.key, 'PATCH', `/v1/keys/${id}`, { rateLimit: { limit: 1, windowSeconds: 60 } }), 403, 'insufficient_scope')
      const after = (await call(tenant.liveKey, 'GET', `/v1/keys/${id}`)).body
      expect(after.status).toBe('active')
      expect(after.rateLimit).toBeNull()
    }
    expect((await call(wide.key, 'GET', '/v1/me')).status).toBe(200)
    const narrow = await createKey(tenant.liveKey, { scopes: ['keys:read'] })
    const publishable = await createKey(tenant.liveKey, { type: 'publishable' })
    for (const id of [narrow.id, publishable.id]) {
      expect((await call(scoped.key, 'POST', `/v1/keys/${id}/revoke`)).body.status).toBe('revoked')
    }
  })

  it('a key lacking keys:write gets 403 insufficient_scope naming it, with the RFC 6750 challenge', async () => {
    const reader = await createKey(tenant.liveKey, { scopes: ['keys:read'] })
    const res = await call(reader.key, 'POST', '/v1/keys', { name: 'x', type: 'secret' })
    expectProblem(res, 403, 'insufficient_scope')
    expect(res.body.detail).toContain('keys:write')
    expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="keys:write"')
  })
})

describe('rate limits on keys', () => {
  it('a tenant key may set a rateLimit at or below the plan default, not above (403 forbidden)', async () => {
    const free = await t.createTenant('free') // default 60 / minute
    expect((await createKey(free.liveKey, { rateLimit: { limit: 60, windowSeconds: 60 } })).rateLimit).toEqual({ limit: 60, windowSeconds: 60 })
    expectProblem(await call(free.liveKey, 'POST', '/v1/keys', { name: 'x', type: 'secret', rateLimit: { limit: 61, windowSeconds: 60 } }), 403, 'forbidden')
    // Per second counts, not the raw number: 2 per second is above 60 per minute.
    expectProblem(await call(free.liveKey, 'POST', '/v1/keys', { name: 'x', type: 'secret', rateLimit: { limit: 2, windowSeconds: 1 } }), 403, 'forbidden')
    const own = (await call(free.liveKey, 'GET', '/v1/keys')).body.data[0]
    expectProblem(await call(free.liveKey, 'PATCH', `/v1/keys/${own.id}`, { rateLimit: { limit: 1000, windowSeconds: 60 } }), 403, 'forbidden')
  })

  it('neither the limit nor the rate may exceed the plan default: a longer window is no way around it', async () => {
    const free = await t.createTenant('free') // default 60 / minute
    const refused = [
      { limit: 86_400, windowSeconds: 86_400 }, // the same average as 60 / minute, all of it in one burst
      { limit: 61, windowSeconds: 3600 },
      { limit: 30, windowSeconds: 1 },
    ]
    for (const rateLimit of refused) {
      const res = await call(free.liveKey, 'POST', '/v1/keys', { name: 'x', type: 'secret', rateLimit })
      expectProblem(res, 403, 'forbidden')
      expectProblem(await call(free.liveKey, 'PATCH', `/v1/keys/${free.liveKeyId}`, { rateLimit }), 403, 'forbidden')
    }
    expect((await createKey(free.liveKey, { rateLimit: { limit: 60, windowSeconds: 3600 } })).rateLimit).toEqual({ limit: 60, windowSeconds: 3600 })
    expect((await createKey(free.liveKey, { rateLimit: { limit: 1, windowSeconds: 1 } })).rateLimit).toEqual({ limit: 1, windowSeconds: 1 })
  })

  it('the admin acting on the tenant may set one above the default', async () => {
    const free = await t.createTenant('free')
    const headers = { 'x-tenant-id': free.id, 'x-environment': 'live' }
    const res = await t.call('POST', '/v1/keys', { auth: t.adminKey, headers, body: { name: 'fast', type: 'secret', rateLimit: { limit: 5000, windowSeconds: 60 } } })
    expect(res.status).toBe(201)
    expect(res.body.rateLimit).toEqual({ limit: 5000, windowSeconds: 60 })
  })

  it('a tenant’s own default (set by the operator) replaces the plan’s', async () => {
    const big = await t.createTenant('enterprise')
    await t.call('PATCH', `/v1/admin/tenants/${big.id}`, { auth: t.adminKey, body: { rateLimit: { limit: 10_000, windowSeconds: 60 } } })
    expect((await createKey(big.liveKey, { rateLimit: { limit: 5000, windowSeconds: 60 } })).rateLimit.limit).toBe(5000)
    expectProblem(await call(big.liveKey, 'POST', '/v1/keys', { name: 'x', type: 'secret', rateLimit: { limit: 20_000, windowSeconds: 60 } }), 403, 'forbidden')
  })
})

describe('rolling with a grace', () => {
  const activeKeys = async (key: string) => (await call(key, 'GET', '/v1/keys')).body.data.filter((k: any) => k.status === 'active')

  it('a key has at most one predecessor in grace: rolling it again ends the earlier grace at once', async () => {
    const a = await createKey(tenant.liveKey)
    const b = (await call(tenant.liveKey, 'POST', `/v1/keys/${a.id}/roll`, { expiresInSeconds: 3600 })).body
    expect((await call(a.key, 'GET', '/v1/me')).status).toBe(200)
    const c = await call(tenant.liveKey, 'POST', `/v1/keys/${b.id}/roll`, { expiresInSeconds: 3600 })
    expect(c.status).toBe(201)
    expectProblem(await call(a.key, 'GET', '/v1/me'), 401, 'invalid_api_key')
    expect((await call(tenant.liveKey, 'GET', `/v1/keys/${a.id}`)).body.status).toBe('expired')
    expect((await call(b.key, 'GET', '/v1/me')).status).toBe(200)
    expect((await call(c.body.key, 'GET', '/v1/me')).status).toBe(200)
  })

  it('a key already rolled is not rolled again (its successor is)', async () => {
    const a = await createKey(tenant.liveKey)
    const b = (await call(tenant.liveKey, 'POST', `/v1/keys/${a.id}/roll`, { expiresInSeconds: 3600 })).body
    const again = await call(tenant.liveKey, 'POST', `/v1/keys/${a.id}/roll`, { expiresInSeconds: 3600 })
    expectProblem(again, 400, 'invalid_request')
    expect(again.body.detail).toContain(b.id)
    expect(again.body.key).toBeUndefined()
  })

  it('respects the plan’s key count: a grace needs room for one more active key, a roll without one does not', async () => {
    const free = await t.createTenant('free') // 3 keys; the tenant's default key is one
    const second = await createKey(free.liveKey)
    const third = await createKey(free.liveKey)
    const refused = await call(free.liveKey, 'POST', `/v1/keys/${second.id}/roll`, { expiresInSeconds: 60 })
    expectProblem(refused, 403, 'plan_limit_reached')
    expect(refused.body.key).toBeUndefined()
    expect((await call(second.key, 'GET', '/v1/me')).status).toBe(200)
    const rolled = await call(free.liveKey, 'POST', `/v1/keys/${second.id}/roll`, { expiresInSeconds: 0 })
    expect(rolled.status).toBe(201)
    expect(await activeKeys(free.liveKey)).toHaveLength(3)
    // With a place free, rolling along a chain never holds more than the plan allows.
    await call(free.liveKey, 'POST', `/v1/keys/${rolled.body.id}/revoke`)
    let current = third.id
    for (let i = 0; i < 4; i++) {
      const next = await call(free.liveKey, 'POST', `/v1/keys/${current}/roll`, { expiresInSeconds: 3600 })
      expect(next.status, next.text).toBe(201)
      current = next.body.id
      expect(await activeKeys(free.liveKey)).toHaveLength(3)
    }
  })
})

describe('sending a key', () => {
  it('x-api-key and Authorization: Bearer both work', async () => {
    expect((await t.call('GET', '/v1/me', { headers: { 'x-api-key': tenant.liveKey } })).status).toBe(200)
    expect((await t.call('GET', '/v1/me', { headers: { authorization: `Bearer ${tenant.liveKey}` } })).status).toBe(200)
  })

  it('the Bearer scheme is case-insensitive', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      expect((await t.call('GET', '/v1/me', { headers: { authorization: `${scheme} ${tenant.liveKey}` } })).status, scheme).toBe(200)
    }
  })

  it('another scheme is 400 invalid_request', async () => {
    const basic = `Basic ${Buffer.from(`${tenant.liveKey}:`).toString('base64')}`
    expectProblem(await t.call('GET', '/v1/me', { headers: { authorization: basic } }), 400, 'invalid_request')
  })

  it('both headers with different keys is 400 invalid_request; the same key twice is fine', async () => {
    const other = await createKey(tenant.liveKey)
    const headers = { 'x-api-key': tenant.liveKey, authorization: `Bearer ${other.key}` }
    expectProblem(await t.call('GET', '/v1/me', { headers }), 400, 'invalid_request')
    const same = { 'x-api-key': tenant.liveKey, authorization: `Bearer ${tenant.liveKey}` }
    expect((await t.call('GET', '/v1/me', { headers: same })).status).toBe(200)
  })

  it('x-tenant-id (or x-sender-id) must name the key’s tenant, else 401 tenant_mismatch', async () => {
    const other = await t.createTenant()
    for (const name of ['x-tenant-id', 'x-sender-id']) {
      const res = await t.call('GET', '/v1/me', { auth: tenant.liveKey, headers: { [name]: other.id } })
      expectProblem(res, 401, 'tenant_mismatch')
      expect(res.body.detail).toBe('API key does not match tenant')
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="parley"/)
      expect((await t.call('GET', '/v1/me', { auth: tenant.liveKey, headers: { [name]: tenant.id } })).status).toBe(200)
    }
  })

  it('a key in the query string or the body is ignored (401 authentication_required)', async () => {
    for (const name of ['api_key', 'apiKey', 'key', 'access_token', 'x-api-key']) {
      const res = await t.call('GET', `/v1/me?${name}=${tenant.liveKey}`)
      expectProblem(res, 401, 'authentication_required')
    }
    const inBody = await t.call('POST', '/v1/keys', { body: { name: 'x', type: 'secret', apiKey: tenant.liveKey } })
    expectProblem(inBody, 401, 'authentication_required')
  })

  it('401 without credentials says which header is missing and carries the challenge', async () => {
    const res = await t.call('GET', '/v1/keys')
    expectProblem(res, 401, 'authentication_required')
    expect(res.body.detail).toMatch(/x-api-key/)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="parley"')
  })

  it('unknown, malformed and bad-checksum keys get one identical body', async () => {
    const last = tenant.liveKey.at(-1) === 'A' ? 'B' : 'A'
    const candidates = [tenant.liveKey.slice(0, -1) + last, 'sk_live_short', `sk_live_${'A'.repeat(38)}`, 'pk_test_?!']
    const bodies = []
    for (const candidate of candidates) {
      const res = await t.call('GET', '/v1/me', { auth: candidate })
      expectProblem(res, 401, 'invalid_api_key')
      const { requestId: _id, ...rest } = res.body
      bodies.push(rest)
    }
    for (const body of bodies) expect(body).toEqual(bodies[0])
  })
})

describe('expired keys', () => {
  it('work until expiresAt, then 401 invalid_api_key and status expired', async () => {
    const created = await createKey(tenant.liveKey, { expiresAt: new Date(Date.now() + 1000).toISOString() })
    expect((await call(created.key, 'GET', '/v1/me')).status).toBe(200)
    await sleep(Math.max(0, Date.parse(created.expiresAt) - Date.now()) + 50)
    expectProblem(await call(created.key, 'GET', '/v1/me'), 401, 'invalid_api_key')
    expect((await call(tenant.liveKey, 'GET', `/v1/keys/${created.id}`)).body.status).toBe('expired')
  })

  it('a key expired in storage is refused', async () => {
    const created = await createKey(tenant.liveKey)
    await t.parley.store.db.updateTable('api_keys').set({ expires_at: '2020-01-01T00:00:00.000Z' }).where('id', '=', created.id).execute()
    expectProblem(await call(created.key, 'GET', '/v1/me'), 401, 'invalid_api_key')
  })
})

describe('two nodes on one database', () => {
  it('a revoke on one node is seen by the other within 1 second', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-keys-'))
    const env = { PARLEY_SIGNING_KEK: randomBytes(32).toString('base64') }
    const databaseUrl = `sqlite:${join(dir, 'shared.db')}`
    const a = await startParley({ databaseUrl, env })
    const b = await startParley({ databaseUrl, env })
    try {
      const shared = await a.createTenant()
      const created = await a.call('POST', '/v1/keys', { auth: shared.liveKey, body: { name: 'k', type: 'secret' } })
      expect((await b.call('GET', '/v1/me', { auth: created.body.key })).status).toBe(200) // cached on B now
      expect((await a.call('POST', `/v1/keys/${created.body.id}/revoke`, { auth: shared.liveKey })).status).toBe(200)
      await sleep(1000)
      const res = await b.call('GET', '/v1/me', { auth: created.body.key })
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('invalid_api_key')
    } finally {
      await a.close()
      await b.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
