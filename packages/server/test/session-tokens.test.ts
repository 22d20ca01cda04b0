/** §4.2 Session tokens: minting, the token's exact shape, independent verification, scopes, callers, environments. */
import { createPublicKey } from 'node:crypto'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import jwt from 'jsonwebtoken'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { decodeParts, mintToken, upsertUser } from './helpers/session-helpers.js'

let t: TestParley
let tenant: TestTenant
let baseUrl: string
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
  await upsertUser(t, tenant.liveKey, 'alice')
  await upsertUser(t, tenant.liveKey, 'bob')
  baseUrl = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(() => t.close())

describe('POST /v1/auth/token', () => {
  it('201 { token, expiresAt } with the exact header and claims of §4.2', async () => {
    const before = Math.floor(Date.now() / 1000)
    const res = await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'alice' } })
    const after = Math.floor(Date.now() / 1000)
    expect(res.status).toBe(201)
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'token'])
    const { header, payload } = decodeParts(res.body.token)

    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: expect.stringMatching(/^\S+$/) })
    expect(Object.keys(payload).sort()).toEqual(['aud', 'env', 'exp', 'iat', 'iss', 'jti', 'kind', 'sub', 'tid'])
    expect(payload).toMatchObject({ iss: 'http://parley.test', aud: tenant.id, sub: 'alice', tid: tenant.id, env: 'live', kind: 'user' })
    expect(payload.iat).toBeGreaterThanOrEqual(before)
    expect(payload.iat).toBeLessThanOrEqual(after)
    expect(payload.exp).toBe((payload.iat as number) + 3600)
    expect(typeof payload.jti).toBe('string')
    expect(new Date((payload.exp as number) * 1000).toISOString()).toBe(res.body.expiresAt)
  })

  it('every token gets its own jti', async () => {
    const jtis = new Set<unknown>()
    for (let i = 0; i < 10; i++) jtis.add(decodeParts((await mintToken(t, tenant.liveKey, 'alice')).token).payload.jti)
    expect(jtis.size).toBe(10)
  })

  it('the kid in the header is published in the JWKS', async () => {
    const { token } = await mintToken(t, tenant.liveKey, 'alice')
    const jwks = await t.call('GET', '/.well-known/jwks.json')
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toContain(decodeParts(token).header.kid)
  })

  it.each([
    [60, 201],
    [86_400, 201],
    [59, 400],
    [86_401, 400],
    [0, 400],
    [-5, 400],
    [3600.5, 400],
  ])('expiresIn %s → %s', async (expiresIn, status) => {
    const res = await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'alice', expiresIn } })
    expect(res.status).toBe(status)
    if (status === 201) {
      const { payload } = decodeParts(res.body.token)
      expect((payload.exp as number) - (payload.iat as number)).toBe(expiresIn)
      const me = await t.call('GET', '/v1/me', { auth: res.body.token })
      expect(me.status).toBe(200)
    } else {
      expect(res.body.code).toBe('validation_failed')
    }
  })

  it('unknown user → 404 user_not_found', async () => {
    const res = await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'never-upserted' } })
    expect(res.status).toBe(404)
    expect(res.headers['content-type']).toContain('application/problem+json')
    expect(res.body.code).toBe('user_not_found')
  })

  it('a user of another tenant → 404 user_not_found', async () => {
    const other = await t.createTenant()
    await upsertUser(t, other.liveKey, 'carol')
    const res = await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'carol' } })
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('user_not_found')
  })

  it('missing userId, unknown fields and unknown scopes → 400 validation_failed', async () => {
    for (const body of [{}, { userId: 'alice', admin: true }, { userId: 'alice', scopes: ['root:all'] }, { userId: 'a b' }]) {
      const res = await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body })
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.code).toBe('validation_failed')
    }
  })

  it('needs tokens:write on a scoped secret key', async () => {
    const key = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'no-tokens', type: 'secret', scopes: ['users:read'] } })
    expect(key.status).toBe(201)
    const res = await t.call('POST', '/v1/auth/token', { auth: key.body.key, body: { userId: 'alice' } })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('insufficient_scope')
    expect(res.body.detail).toContain('tokens:write')

    const allowed = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'tokens', type: 'secret', scopes: ['tokens:write'] } })
    expect((await t.call('POST', '/v1/auth/token', { auth: allowed.body.key, body: { userId: 'alice' } })).status).toBe(201)
  })
})

describe('narrower scopes', () => {
  it('carries the chosen scopes as a claim and enforces them', async () => {
    const { token } = await mintToken(t, tenant.liveKey, 'alice', { scopes: ['conversations:read'] })
    expect(decodeParts(token).payload.scopes).toEqual(['conversations:read'])

    const me = await t.call('GET', '/v1/me', { auth: token })
    expect(me.status).toBe(200)
    expect(me.body.user).toEqual({ id: 'alice', kind: 'user', scopes: ['conversations:read'] })

    expect((await t.call('GET', '/v1/conversations', { auth: token })).status).toBe(200)

    const write = await t.call('POST', '/v1/conversations', { auth: token, body: { type: 'group', members: ['bob'] } })
    expect(write.status).toBe(403)
    expect(write.body.code).toBe('insufficient_scope')
    expect(write.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="conversations:write"')
  })

  it('an unscoped token may use every session route (same request works without the narrowing)', async () => {
    const { token } = await mintToken(t, tenant.liveKey, 'alice')
    expect(decodeParts(token).payload).not.toHaveProperty('scopes')
    const write = await t.call('POST', '/v1/conversations', { auth: token, body: { type: 'group', members: ['bob'] } })
    expect(write.status).toBe(201)
  })

  it('patterns: conversations:* allows writes, *:read does not', async () => {
    const { token: star } = await mintToken(t, tenant.liveKey, 'alice', { scopes: ['conversations:*'] })
    expect((await t.call('POST', '/v1/conversations', { auth: star, body: { type: 'group', members: ['bob'] } })).status).toBe(201)
    const { token: reads } = await mintToken(t, tenant.liveKey, 'alice', { scopes: ['*:read'] })
    expect((await t.call('GET', '/v1/conversations', { auth: reads })).status).toBe(200)
    expect((await t.call('POST', '/v1/conversations', { auth: reads, body: { type: 'group', members: ['bob'] } })).status).toBe(403)
  })
})

describe('independent verification', () => {
  it('verifies with jose.createRemoteJWKSet against the listening server, issuer and audience checked', async () => {
    const { token } = await mintToken(t, tenant.liveKey, 'alice')
    const jwks = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`))
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: 'http://parley.test',
      audience: tenant.id,
      algorithms: ['ES256'],
    })
    expect(protectedHeader.alg).toBe('ES256')
    expect(payload.sub).toBe('alice')
    // The same verifier refuses a wrong audience or issuer: the checks are real.
    await expect(jwtVerify(token, jwks, { issuer: 'http://parley.test', audience: 'ten_other' })).rejects.toThrow()
    await expect(jwtVerify(token, jwks, { issuer: 'http://evil.test', audience: tenant.id })).rejects.toThrow()
  })

  it('verifies with jsonwebtoken (ES256) using the JWKS key converted by node:crypto', async () => {
    const { token } = await mintToken(t, tenant.liveKey, 'bob', { scopes: ['messages:read'] })
    const res = await fetch(`${baseUrl}/.well-known/jwks.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    const { keys } = (await res.json()) as { keys: Array<Record<string, string>> }
    const kid = decodeParts(token).header.kid
    const jwk = keys.find((k) => k.kid === kid)
    expect(jwk).toBeDefined()
    const publicKey = createPublicKey({ key: jwk as never, format: 'jwk' })
    const verified = jwt.verify(token, publicKey, { algorithms: ['ES256'], issuer: 'http://parley.test', audience: tenant.id }) as jwt.JwtPayload
    expect(verified).toMatchObject({ sub: 'bob', tid: tenant.id, env: 'live', kind: 'user', scopes: ['messages:read'] })
    expect(() => jwt.verify(token, publicKey, { algorithms: ['ES256'], audience: 'ten_other' })).toThrow(/audience/)
    expect(() => jwt.verify(`${token.slice(0, -4)}AAAA`, publicKey, { algorithms: ['ES256'] })).toThrow()
  })

  it('the JWKS has public members only, alg ES256 and use sig', async () => {
    const res = await t.call('GET', '/.well-known/jwks.json')
    expect(res.status).toBe(200)
    expect(res.body.keys.length).toBeGreaterThanOrEqual(1)
    for (const key of res.body.keys) {
      expect(key).not.toHaveProperty('d')
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    }
    // No credentials needed, and it is not under /v1 (no CORS hook, no auth).
    expect(res.headers['www-authenticate']).toBeUndefined()
  })
})

describe('callers', () => {
  it.each([
    ['GET', '/v1/keys', undefined],
    ['POST', '/v1/keys', { name: 'x', type: 'secret' }],
    ['POST', '/v1/users', { id: 'mallory' }],
    ['GET', '/v1/users', undefined],
    ['POST', '/v1/auth/token', { userId: 'alice' }],
  ])('a session token on %s %s → 403 forbidden', async (method, url, body) => {
    const { token } = await mintToken(t, tenant.liveKey, 'alice')
    const res = await t.call(method as 'GET' | 'POST', url, { auth: token, ...(body && { body }) })
    expect(res.status).toBe(403)
    expect(res.headers['content-type']).toContain('application/problem+json')
    expect(res.body.code).toBe('forbidden')
  })

  it('a session token cannot mint a token for another user (the mint route is closed to it)', async () => {
    const { token } = await mintToken(t, tenant.liveKey, 'alice')
    const res = await t.call('POST', '/v1/auth/token', { auth: token, body: { userId: 'bob' } })
    expect(res.status).toBe(403)
    expect(res.body.token).toBeUndefined()
  })

  it('a session token on an admin route is refused', async () => {
    const { token } = await mintToken(t, tenant.liveKey, 'alice')
    const res = await t.call('POST', '/v1/admin/signing-keys/rotate', { auth: token })
    expect([401, 403]).toContain(res.status)
    expect(res.body.kid).toBeUndefined()
  })
})

describe('environments', () => {
  it('a token minted with a test key belongs to the test environment', async () => {
    await upsertUser(t, tenant.testKey, 'alice', { displayName: 'Test Alice' })
    const { token } = await mintToken(t, tenant.testKey, 'alice')
    expect(decodeParts(token).payload.env).toBe('test')

    const me = await t.call('GET', '/v1/me', { auth: token })
    expect(me.status).toBe(200)
    expect(me.body.environment).toBe('test')
    expect(me.body.tenant.id).toBe(tenant.id)

    const identity = await t.call('GET', '/v1/identity/me', { auth: token })
    expect(identity.status).toBe(200)
    expect(identity.body.user).toMatchObject({ id: 'alice', displayName: 'Test Alice' })
  })

  it('a test-mode token cannot read live data (404), though a live user has the same id', async () => {
    await upsertUser(t, tenant.testKey, 'alice')
    const conv = await t.call('POST', '/v1/conversations', { auth: tenant.liveKey, body: { type: 'group', members: ['alice', 'bob'] } })
    expect(conv.status).toBe(201)
    const { token: liveToken } = await mintToken(t, tenant.liveKey, 'alice')
    expect((await t.call('GET', `/v1/conversations/${conv.body.id}`, { auth: liveToken })).status).toBe(200)

    const { token: testToken } = await mintToken(t, tenant.testKey, 'alice')
    const res = await t.call('GET', `/v1/conversations/${conv.body.id}`, { auth: testToken })
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('not_found')
  })

  it('a test key cannot mint for a live-only user', async () => {
    await upsertUser(t, tenant.liveKey, 'live-only')
    const res = await t.call('POST', '/v1/auth/token', { auth: tenant.testKey, body: { userId: 'live-only' } })
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('user_not_found')
  })
})
