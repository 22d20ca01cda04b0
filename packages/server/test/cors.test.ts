/** §0.3 CORS: session tokens for any origin, publishable keys for their allowed origins, secret keys never; preflights for all. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Response, type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { claimsFor, mintToken, signWithParleyKey, upsertUser } from './helpers/session-helpers.js'

let t: TestParley
let tenant: TestTenant
let token: string
let openPk: string
let restrictedPk: string
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
  await upsertUser(t, tenant.liveKey, 'alice')
  ;({ token } = await mintToken(t, tenant.liveKey, 'alice'))
  const pk = async (extra: Record<string, unknown>) =>
    (await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'web', type: 'publishable', ...extra } })).body.key as string
  openPk = await pk({})
  restrictedPk = await pk({ allowedOrigins: ['https://app.example.com'] })
})
afterAll(() => t.close())

const varyHasOrigin = (res: Response) =>
  String(res.headers.vary ?? '')
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .includes('origin')

function expectEcho(res: Response, origin: string): void {
  expect(res.headers['access-control-allow-origin']).toBe(origin)
  expect(res.headers['access-control-allow-origin']).not.toBe('*')
  expect(varyHasOrigin(res)).toBe(true)
}

describe('session tokens', () => {
  it.each(['https://app.example.com', 'https://anything.test', 'http://localhost:5173'])('echo the Origin %s with Vary: Origin, never *', async (origin) => {
    for (const [method, url] of [
      ['GET', '/v1/me'],
      ['GET', '/v1/identity/me'],
      ['GET', '/v1/conversations'],
    ] as const) {
      const res = await t.call(method, url, { auth: token, headers: { origin } })
      expect(res.status, url).toBe(200)
      expectEcho(res, origin)
    }
  })

  it('a 403 for a session token (tenant-level route) still carries CORS, so the browser can read it', async () => {
    const res = await t.call('GET', '/v1/keys', { auth: token, headers: { origin: 'https://app.example.com' } })
    expect(res.status).toBe(403)
    expectEcho(res, 'https://app.example.com')
  })

  it('an expired session token’s 401 carries CORS, so the browser can see token_expired', async () => {
    const now = Math.floor(Date.now() / 1000)
    const expired = await signWithParleyKey(t, claimsFor(t, tenant.id, 'alice', { iat: now - 7200, exp: now - 3600 }))
    const res = await t.call('GET', '/v1/me', { auth: expired, headers: { origin: 'https://app.example.com' } })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('token_expired')
    expectEcho(res, 'https://app.example.com')
  })

  it('without an Origin there is no access-control-allow-origin at all', async () => {
    const res = await t.call('GET', '/v1/me', { auth: token })
    expect(res.status).toBe(200)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('publishable keys', () => {
  it('a key with an allow-list echoes only an allowed origin', async () => {
    const ok = await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': restrictedPk, origin: 'https://app.example.com' } })
    expect(ok.status).toBe(200)
    expectEcho(ok, 'https://app.example.com')

    const init = await t.call('POST', '/v1/identity/init', { headers: { origin: 'https://app.example.com' }, body: { apiKey: restrictedPk } })
    expect(init.status).toBe(201)
    expectEcho(init, 'https://app.example.com')
  })

  it.each(['https://evil.test', 'https://app.example.com.evil.test', 'null'])('a key with an allow-list gives %s no CORS', async (origin) => {
    const res = await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': restrictedPk, origin } })
    expect(res.status).toBe(403)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(varyHasOrigin(res)).toBe(true)
  })

  it('a key without an allow-list echoes any origin', async () => {
    const res = await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': openPk, origin: 'https://whatever.test' } })
    expect(res.status).toBe(200)
    expectEcho(res, 'https://whatever.test')
  })

  it('the visitor token a restricted key issues gets CORS for any origin (it is a session token)', async () => {
    const init = await t.call('POST', '/v1/identity/init', { headers: { origin: 'https://app.example.com' }, body: { apiKey: restrictedPk } })
    const res = await t.call('GET', '/v1/identity/me', { auth: init.body.sessionToken, headers: { origin: 'https://elsewhere.test' } })
    expect(res.status).toBe(200)
    expectEcho(res, 'https://elsewhere.test')
  })
})

describe('secret keys', () => {
  it.each([
    ['x-api-key', (key: string) => ({ 'x-api-key': key })],
    ['Authorization', (key: string) => ({ authorization: `Bearer ${key}` })],
  ])('responses to a secret key in %s carry no access-control-allow-origin', async (_how, headersOf) => {
    for (const [method, url] of [
      ['GET', '/v1/me'],
      ['GET', '/v1/users'],
      ['GET', '/v1/keys'],
      ['GET', '/v1/users/nobody'],
    ] as const) {
      const res = await t.call(method, url, { headers: { ...headersOf(tenant.liveKey), origin: 'https://app.example.com' } })
      expect([200, 404], url).toContain(res.status)
      expect(res.headers['access-control-allow-origin'], url).toBeUndefined()
      expect(res.headers['access-control-allow-credentials'], url).toBeUndefined()
    }
  })

  it('a secret key’s failed request (wrong scope) carries none either', async () => {
    const scoped = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'narrow', type: 'secret', scopes: ['users:read'] } })
    const res = await t.call('GET', '/v1/keys', { auth: scoped.body.key, headers: { origin: 'https://app.example.com' } })
    expect(res.status).toBe(403)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('preflights', () => {
  it.each([
    ['https://app.example.com', '/v1/identity/init', 'POST'],
    ['https://evil.test', '/v1/identity/init', 'POST'],
    ['http://localhost:3000', '/v1/conversations', 'POST'],
    ['https://any.test', '/v1/users/alice', 'PATCH'],
    ['https://any.test', '/v1/users/alice', 'DELETE'],
    ['https://any.test', '/v1/me', 'GET'],
  ])('from %s to %s (%s) → 204 with methods and headers', async (origin, url, method) => {
    const res = await t.call('OPTIONS', url, {
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type, x-api-key' },
    })
    expect(res.status).toBe(204)
    expectEcho(res, origin)
    const methods = String(res.headers['access-control-allow-methods'])
      .split(',')
      .map((m) => m.trim().toUpperCase())
    expect(methods).toContain(method)
    const allowed = String(res.headers['access-control-allow-headers'])
      .split(',')
      .map((h) => h.trim().toLowerCase())
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'x-api-key', 'content-type']))
    expect(res.text).toBe('')
  })

  it('a preflight needs no credentials (a real request without them would be 401)', async () => {
    const real = await t.call('POST', '/v1/conversations', { headers: { origin: 'https://any.test' }, body: { type: 'group', members: [] } })
    expect(real.status).toBe(401)
    const pre = await t.call('OPTIONS', '/v1/conversations', { headers: { origin: 'https://any.test', 'access-control-request-method': 'POST' } })
    expect(pre.status).toBe(204)
  })

  it('the preflight allows the other headers clients send (x-tenant-id, x-request-id)', async () => {
    const res = await t.call('OPTIONS', '/v1/me', { headers: { origin: 'https://any.test', 'access-control-request-method': 'GET' } })
    const allowed = String(res.headers['access-control-allow-headers']).toLowerCase()
    expect(allowed).toContain('x-tenant-id')
    expect(allowed).toContain('x-request-id')
  })
})

it('no /v1 response in this file’s scenarios ever says access-control-allow-origin: *', async () => {
  const responses = [
    await t.call('GET', '/v1/me', { auth: token, headers: { origin: 'https://a.test' } }),
    await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': openPk, origin: 'https://a.test' } }),
    await t.call('GET', '/v1/me', { auth: tenant.liveKey, headers: { origin: 'https://a.test' } }),
    await t.call('OPTIONS', '/v1/me', { headers: { origin: 'https://a.test', 'access-control-request-method': 'GET' } }),
    await t.call('GET', '/v1/me', { headers: { origin: 'https://a.test' } }),
  ]
  for (const res of responses) expect(res.headers['access-control-allow-origin']).not.toBe('*')
})
