/**
 * API keys (API.md §1, §3 keys part, §9): create, list, get, patch, revoke, roll; GET /v1/me; plan
 * limits, scope escalation, rate-limit ceilings; and how a key is sent (headers, Bearer, tenant
 * header, query string) and refused (401/403 with WWW-Authenticate).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Response, type TestParley, type TestTenant, startParley } from './helpers/parley.js'

type Method = InjectOptions['method']

let t: TestParley
let tenant: TestTenant
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
})
afterAll(() => t.close())

const call = (key: string, method: Method, url: string, body?: unknown) => t.call(method, url, { auth: key, body })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** Creates a key with `key` and returns the 201 body (with its plaintext in `.key`). */
async function createKey(key: string, body: Record<string, unknown> = {}): Promise<any> {
  const res = await call(key, 'POST', '/v1/keys', { name: 'k', type: 'secret', ...body })
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${res.text}`)
  return res.body
}

function expectProblem(res: Response, status: number, code: string): void {
  expect(res.status, res.text).toBe(status)
  expect(res.body?.code, res.text).toBe(code)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
}

describe('POST /v1/keys', () => {
  it('creates a secret key in the caller’s environment and shows the plaintext once', async () => {
    const res = await call(tenant.testKey, 'POST', '/v1/keys', {
      name: 'backend',
      type: 'secret',
      scopes: ['users:read', 'messages:*'],
      metadata: { team: 'core' },
    })
    expect(res.status).toBe(201)
    expect(res.body).toEqual({
      id: expect.stringMatching(/^key_[A-Za-z0-9]{16,}$/),
      name: 'backend',
      type: 'secret',
      environment: 'test',
      display: expect.any(String),
      scopes: ['users:read', 'messages:*'],
      status: 'active',
      createdAt: expect.stringMatching(ISO),
      lastUsedAt: null,
      expiresAt: null,
      allowedOrigins: null,
      visitorTtlSeconds: null,
      rateLimit: null,
      metadata: { team: 'core' },
      key: expect.stringMatching(/^sk_test_[0-9A-Za-z]{38}$/),
    })
    const me = await call(res.body.key, 'GET', '/v1/me')
    expect(me.body.key).toEqual({ id: res.body.id, type: 'secret', scopes: ['users:read', 'messages:*'] })
    expect(me.body.environment).toBe('test')
  })

  it('display is the prefix, the first 4 and last 4 of the body, joined by one “…” (U+2026)', async () => {
    for (const type of ['secret', 'publishable']) {
      const created = await createKey(tenant.liveKey, { type })
      const prefix = type === 'secret' ? 'sk_live_' : 'pk_live_'
      expect(created.key.startsWith(prefix)).toBe(true)
      expect(created.display).toBe(`${prefix}${created.key.slice(8, 12)}\u2026${created.key.slice(-4)}`)
      expect(created.display).toHaveLength(prefix.length + 9)
    }
  })

  it('every key is different', async () => {
    const a = await createKey(tenant.liveKey)
    const b = await createKey(tenant.liveKey)
    expect(a.key).not.toBe(b.key)
    expect(a.id).not.toBe(b.id)
  })

  it('refuses unknown scopes, a past expiresAt, and secret keys with allowedOrigins', async () => {
    const bad = [
      [{ scopes: ['keys:read', 'keys:fly'] }, 'scopes[1]'],
      [{ expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiresAt'],
      [{ allowedOrigins: ['https://app.example.com'] }, 'allowedOrigins'],
      [{ type: 'publishable', scopes: ['users:read'] }, 'scopes'],
    ] as const
    for (const [body, param] of bad) {
      const res = await call(tenant.liveKey, 'POST', '/v1/keys', { name: 'k', type: 'secret', ...body })
      expectProblem(res, 400, 'validation_failed')
      expect(res.body.errors[0].param).toBe(param)
    }
  })

  it('returns expiresAt as an ISO 8601 UTC timestamp whatever offset it was sent with', async () => {
    const created = await createKey(tenant.liveKey, { expiresAt: '2099-01-01T02:00:00+02:00' })
    expect(created.expiresAt).toBe('2099-01-01T00:00:00.000Z')
    expect((await call(tenant.liveKey, 'GET', `/v1/keys/${created.id}`)).body.expiresAt).toBe('2099-01-01T00:00:00.000Z')
  })

  it('an expiry written with an offset still ends the key at that instant', async () => {
    // One second ahead, written in a zone east of UTC: as a string it sorts after "now" for hours.
    const at = new Date(Date.now() + 1000)
    const shifted = new Date(at.getTime() + 5 * 3600_000).toISOString().replace('Z', '+05:00')
    const created = await createKey(tenant.liveKey, { expiresAt: shifted })
    await sleep(1100)
    expectProblem(await call(created.key, 'GET', '/v1/me'), 401, 'invalid_api_key')
    expect((await call(tenant.liveKey, 'GET', `/v1/keys/${created.id}`)).body.status).toBe('expired')
  })
})

describe('publishable keys', () => {
  it('validate allowedOrigins as exact origins', async () => {
    const good = await createKey(tenant.liveKey, { type: 'publishable', allowedOrigins: ['https://app.example.com', 'http://localhost:3000'] })
    expect(good.allowedOrigins).toEqual(['https://app.example.com', 'http://localhost:3000'])
    expect(good.key).toMatch(/^pk_live_/)
    for (const origin of ['app.example.com', 'https://app.example.com/', 'https://app.example.com/path', 'ftp://app.example.com', '*']) {
      const res = await call(tenant.liveKey, 'POST', '/v1/keys', { name: 'w', type: 'publishable', allowedOrigins: [origin] })
      expectProblem(res, 400, 'validation_failed')
      expect(res.body.errors[0].param, origin).toBe('allowedOrigins[0]')
    }
  })

  it('PATCH validates allowedOrigins too', async () => {
    const pk = await createKey(tenant.liveKey, { type: 'publishable' })
    const res = await call(tenant.liveKey, 'PATCH', `/v1/keys/${pk.id}`, { allowedOrigins: ['https://ok.example', 'nope'] })
    expectProblem(res, 400, 'validation_failed')
    expect(res.body.errors[0].param).toBe('allowedOrigins[1]')
  })

  it('get 403 key_type_not_allowed on a secret-key route', async () => {
    const pk = await createKey(tenant.liveKey, { type: 'publishable' })
    for (const [method, url] of [['GET', '/v1/keys'], ['GET', '/v1/me'], ['POST', '/v1/keys']] as const) {
      expectProblem(await t.call(method, url, { headers: { 'x-api-key': pk.key }, body: { name: 'x', type: 'secret' } }), 403, 'key_type_not_allowed')
    }
    expect((await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': pk.key } })).status).toBe(200)
  })
})

describe('GET /v1/keys and GET /v1/keys/{id}', () => {
  it('pages with a cursor, newest first, within the caller’s environment only', async () => {
    const own = await t.createTenant()
    const created = [own.liveKeyId]
    for (let i = 0; i < 5; i++) created.push((await createKey(own.liveKey, { name: `k${i}` })).id)
    await createKey(own.testKey, { name: 'test only' })

    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res: Response = await call(own.liveKey, 'GET', `/v1/keys?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      expect(res.status).toBe(200)
      expect(res.body.data.length).toBeLessThanOrEqual(2)
      seen.push(...res.body.data.map((k: { id: string }) => k.id))
      cursor = res.body.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    // Pages add up to the one-page list: every live key once, newest first (ties in the same
    // millisecond are ordered by id, so creation order is only checked through createdAt).
    const all = await call(own.liveKey, 'GET', '/v1/keys')
    expect(all.body.nextCursor).toBeNull()
    expect(seen).toEqual(all.body.data.map((k: { id: string }) => k.id))
    expect([...seen].sort()).toEqual([...created].sort())
    const times = all.body.data.map((k: { createdAt: string }) => k.createdAt)
    expect(times).toEqual([...times].sort().reverse())
    expect(all.body.data.every((k: { environment: string }) => k.environment === 'live')).toBe(true)
  })

  it('never return the plaintext or the hash', async () => {
    const created = await createKey(tenant.liveKey, { name: 'secretive' })
    const body = created.key.slice(8)
    const list = await call(tenant.liveKey, 'GET', '/v1/keys?limit=200')
    const one = await call(tenant.liveKey, 'GET', `/v1/keys/${created.id}`)
    for (const res of [list, one]) {
      expect(res.status).toBe(200)
      expect(res.text).not.toContain(body)
      expect(res.text).not.toContain(body.slice(0, 16))
      expect(res.text).not.toMatch(/"key"\s*:|"hash"|"keyHash"/i)
    }
    const { key: _plaintext, ...withoutKey } = created
    expect(one.body).toEqual({ ...withoutKey, lastUsedAt: null })
  })

  it('a key of the other environment or another tenant is 404 not_found', async () => {
    const other = await t.createTenant()
    expectProblem(await call(tenant.liveKey, 'GET', `/v1/keys/${tenant.testKeyId}`), 404, 'not_found')
    expectProblem(await call(tenant.liveKey, 'GET', `/v1/keys/${other.liveKeyId}`), 404, 'not_found')
    expectProblem(await call(tenant.liveKey, 'GET', '/v1/keys/key_doesNotExist'), 404, 'not_found')
  })
})

describe('PATCH /v1/keys/{id}', () => {
  it('changes name, metadata and rateLimit', async () => {
    const created = await createKey(tenant.liveKey, { metadata: { a: 1 } })
    const res = await call(tenant.liveKey, 'PATCH', `/v1/keys/${created.id}`, {
      name: 'renamed',
      metadata: { b: 2 },
      rateLimit: { limit: 10, windowSeconds: 60 },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: created.id, name: 'renamed', metadata: { b: 2 }, rateLimit: { limit: 10, windowSeconds: 60 } })
    expect(res.body.key).toBeUndefined()
    expect((await call(tenant.liveKey, 'GET', `/v1/keys/${created.id}`)).body.name).toBe('renamed')
  })

  it('narrows scopes, and the narrower key is refused at once', async () => {
    const created = await createKey(tenant.liveKey) // unscoped
    expect((await call(created.key, 'GET', '/v1/users')).status).toBe(200)
    const res = await call(tenant.liveKey, 'PATCH', `/v1/keys/${created.id}`, { scopes: ['keys:read'] })
    expect(res.status).toBe(200)
    expect(res.body.scopes).toEqual(['keys:read'])
    expectProblem(await call(created.key, 'GET', '/v1/users'), 403, 'insufficient_scope')
    expect((await call(created.key, 'GET', '/v1/keys')).status).toBe(200)
  })

  it('widening scopes is 400 validation_failed, including back to unscoped', async () => {
    const created = await createKey(tenant.liveKey, { scopes: ['keys:read', 'users:*'] })
    for (const scopes of [['keys:read', 'keys:write'], ['*:read'], []]) {
      const res = await call(tenant.liveKey, 'PATCH', `/v1/keys/${created.id}`, { scopes })
      expectProblem(res, 400, 'validation_failed')
      expect(res.body.errors[0].param).toBe('scopes')
    }
    const narrower = await call(tenant.liveKey, 'PATCH', `/v1/keys/${created.id}`, { scopes: ['users:read'] })
    expect(narrower.body.scopes).toEqual(['users:read'])
  })

  it('refuses fields that cannot change and unknown ids', async () => {
    const created = await createKey(tenant.liveKey)
    for (const body of [{ type: 'publishable' }, { environment: 'test' }, { expiresAt: null }, { key: 'sk_live_x' }]) {
      expectProblem(await call(tenant.liveKey, 'PATCH', `/v1/keys/${created.id}`, body), 400, 'validation_failed')
    }
    expectProblem(await call(tenant.liveKey, 'PATCH', '/v1/keys/key_missing', { name: 'x' }), 404, 'not_found')
  })
})

describe('POST /v1/keys/{id}/revoke', () => {
  it('answers 200 with status revoked, and the key gets 401 at once (even when cached)', async () => {
    const created = await createKey(tenant.liveKey)
    expect((await call(created.key, 'GET', '/v1/me')).status).toBe(200)
    const res = await call(tenant.liveKey, 'POST', `/v1/keys/${created.id}/revoke`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: created.id, status: 'revoked' })
    expect(res.body.key).toBeUndefined()
    const refused = await call(created.key, 'GET', '/v1/me')
    expectProblem(refused, 401, 'invalid_api_key')
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="parley"')
    // Idempotent, and still listed with its status.
    expect((await call(tenant.liveKey, 'POST', `/v1/keys/${created.id}/revoke`)).body.status).toBe('revoked')
    expect((await call(tenant.liveKey, 'GET', `/v1/keys/${created.id}`)).body.status).toBe('revoked')
  })

  it('a key can revoke itself', async () => {
    const created = await createKey(tenant.liveKey)
    expect((await call(created.key, 'POST', `/v1/keys/${created.id}/revoke`)).status).toBe(200)
    expectProblem(await call(created.key, 'GET', '/v1/me'), 401, 'invalid_api_key')
  })

  it('is refused across environments', async () => {
    expectProblem(await call(tenant.testKey, 'POST', `/v1/keys/${tenant.liveKeyId}/revoke`), 404, 'not_found')
    expect((await call(tenant.liveKey, 'GET', '/v1/me')).status).toBe(200)
  })
})

describe('POST /v1/keys/{id}/roll', () => {
  it('without grace: a new key with the same settings; the old one fails at once', async () => {
    const old = await createKey(tenant.liveKey, { name: 'rolling', scopes: ['keys:read'], metadata: { v: 1 } })
    expect((await call(old.key, 'GET', '/v1/keys')).status).toBe(200)
    const res = await call(tenant.liveKey, 'POST', `/v1/keys/${old.id}/roll`)
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ name: 'rolling', type: 'secret', environment: 'live', scopes: ['keys:read'], metadata: { v: 1 }, status: 'active' })
    expect(res.body.id).not.toBe(old.id)
    expect(res.body.key).toMatch(/^sk_live_[0-9A-Za-z]{38}$/)
    expect(res.body.key).not.toBe(old.key)
    expectProblem(await call(old.key, 'GET', '/v1/keys'), 401, 'invalid_api_key')
    expect((await call(res.body.key, 'GET', '/v1/keys')).status).toBe(200)
    expect((await call(tenant.liveKey, 'GET', `/v1/keys/${old.id}`)).body.status).not.toBe('active')
  })

  it('with expiresInSeconds 0 the old key fails at once', async () => {
    const old = await createKey(tenant.liveKey)
    const res = await call(tenant.liveKey, 'POST', `/v1/keys/${old.id}/roll`, { expiresInSeconds: 0 })
    expect(res.status).toBe(201)
    expectProblem(await call(old.key, 'GET', '/v1/me'), 401, 'invalid_api_key')
  })

  it('with grace: both keys work until it ends, then only the new one', async () => {
    const old = await createKey(tenant.liveKey)
    const res = await call(tenant.liveKey, 'POST', `/v1/keys/${old.id}/roll`, { expiresInSeconds: 1 })
    expect(res.status).toBe(201)
    const oldView = await call(tenant.liveKey, 'GET', `/v1/keys/${old.id}`)
    expect(Date.parse(oldView.body.expiresAt) - Date.now()).toBeGreaterThan(0)
    expect(Date.parse(oldView.body.expiresAt) - Date.now()).toBeLessThanOrEqual(1000)
    expect((await call(old.key, 'GET', '/v1/me')).status).toBe(200)
    expect((await call(res.body.key, 'GET', '/v1/me')).status).toBe(200)
    await sleep(1100)
    expectProblem(await call(old.key, 'GET', '/v1/me'), 401, 'invalid_api_key')
    expect((await call(res.body.key, 'GET', '/v1/me')).status).toBe(200)
    expect((await call(tenant.liveKey, 'GET', `/v1/keys/${old.id}`)).body.status).toBe('expired')
  })

  it('refuses a grace outside 0…604800 and a revoked key', async () => {
    const old = await createKey(tenant.liveKey)
    for (const expiresInSeconds of [-1, 604_801, 1.5]) {
      expectProblem(await call(tenant.liveKey, 'POST', `/v1/keys/${old.id}/roll`, { expiresInSeconds }), 400, 'validation_failed')
    }
    expect((await call(old.key, 'GET', '/v1/me')).status).toBe(200)
    await call(tenant.liveKey, 'POST', `/v1/keys/${old.id}/revoke`)
    const res = await call(tenant.liveKey, 'POST', `/v1/keys/${old.id}/roll`)
    expect(res.status).toBe(400)
    expect(res.body.key).toBeUndefined()
  })
})

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
