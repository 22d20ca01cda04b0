/**
 * API keys (API.md §1, §3 keys part, §9), their lifecycle: create, list, get, patch, revoke, roll.
 * The rules around them are in keys-rules.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem, keyCalls } from './helpers/keys.js'
import { type Response, type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { ISO_TIMESTAMP } from './helpers/values.js'
import { sleep } from './helpers/wait.js'


let t: TestParley
let tenant: TestTenant
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
})
afterAll(() => t.close())

const { call, createKey } = keyCalls(() => t)

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
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
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
    // GET /v1/keys/{id} adds where the key was reported leaked (API.md §11): nowhere yet.
    expect(one.body).toEqual({ ...withoutKey, lastUsedAt: null, leakReports: [] })
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

  it('of concurrent rolls of one key, exactly one succeeds; the others change nothing', async () => {
    const old = await createKey(tenant.liveKey, { name: 'raced', scopes: ['keys:read'] })
    const answers = await Promise.all(Array.from({ length: 5 }, () => call(tenant.liveKey, 'POST', `/v1/keys/${old.id}/roll`, { expiresInSeconds: 60 })))
    const rolled = answers.filter((a) => a.status === 201)
    expect(rolled).toHaveLength(1)
    for (const refused of answers.filter((a) => a.status !== 201)) expect([400, 409]).toContain(refused.status)
    const named = (await call(tenant.liveKey, 'GET', '/v1/keys')).body.data.filter((k: { name: string }) => k.name === 'raced')
    expect(named.map((k: { id: string }) => k.id).sort()).toEqual([old.id, rolled[0]!.body.id].sort())
  })
})

