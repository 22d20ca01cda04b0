/** §4.1 Users: upsert, list with cursors, get, patch, delete, id rules, environments, revoke-tokens. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { mintToken, upsertUser } from './helpers/session-helpers.js'
import { ISO_TIMESTAMP } from './helpers/values.js'

let t: TestParley
let tenant: TestTenant
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
})
afterAll(() => t.close())

describe('POST /v1/users (upsert)', () => {
  it('creates with 201, then updates the same id with 200', async () => {
    const created = await t.call('POST', '/v1/users', {
      auth: tenant.liveKey,
      body: { id: 'alice', username: 'alice', displayName: 'Alice', metadata: { plan: 'gold' } },
    })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({
      id: 'alice',
      username: 'alice',
      displayName: 'Alice',
      avatarUrl: null,
      metadata: { plan: 'gold' },
      kind: 'user',
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
      updatedAt: expect.stringMatching(ISO_TIMESTAMP),
    })

    const updated = await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: 'alice', displayName: 'Alice B.' } })
    expect(updated.status).toBe(200)
    expect(updated.body).toMatchObject({ id: 'alice', username: 'alice', displayName: 'Alice B.', metadata: { plan: 'gold' } })
    expect(updated.body.createdAt).toBe(created.body.createdAt)
    expect(Date.parse(updated.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.body.updatedAt))

    const got = await t.call('GET', '/v1/users/alice', { auth: tenant.liveKey })
    expect(got.status).toBe(200)
    expect(got.body.displayName).toBe('Alice B.')
  })

  it('rejects unknown body fields', async () => {
    const res = await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: 'bob', role: 'admin' } })
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('validation_failed')
  })

  it.each([
    ['129 characters', 'u'.repeat(129)],
    ['a space', 'with space'],
    ['an empty id', ''],
    ['a slash', 'a/b'],
  ])('rejects an id with %s → 400 validation_failed', async (_what, id) => {
    const res = await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id } })
    expect(res.status).toBe(400)
    expect(res.headers['content-type']).toContain('application/problem+json')
    expect(res.body.code).toBe('validation_failed')
  })

  it('accepts an id of exactly 128 characters from the allowed alphabet in the body', async () => {
    const id = `Az09_.@:-${'x'.repeat(119)}`
    expect(id).toHaveLength(128)
    const res = await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id } })
    expect(res.status).toBe(201)
    expect(res.body.id).toBe(id)
    const list = await t.call('GET', '/v1/users?limit=200', { auth: tenant.liveKey })
    expect(list.body.data.map((u: { id: string }) => u.id)).toContain(id)
  })

  // Fastify's default maxParamLength (100) would answer 414 for ids of 101–128 characters.
  it('reaches a 128-character user id by path (GET, PATCH, revoke-tokens, DELETE)', async () => {
    const id = 'L'.repeat(128)
    await upsertUser(t, tenant.liveKey, id)
    expect((await t.call('GET', `/v1/users/${id}`, { auth: tenant.liveKey })).status).toBe(200)
    expect((await t.call('PATCH', `/v1/users/${id}`, { auth: tenant.liveKey, body: { displayName: 'Long' } })).status).toBe(200)
    expect((await t.call('POST', `/v1/users/${id}/revoke-tokens`, { auth: tenant.liveKey })).status).toBe(204)
    expect((await t.call('DELETE', `/v1/users/${id}`, { auth: tenant.liveKey })).status).toBe(204)
  })

  // Longer path ids must reach validation and get problem+json, not Fastify's 414.
  it('rejects a 129-character path id with 400 validation_failed problem+json', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await t.call(method, `/v1/users/${'u'.repeat(129)}`, { auth: tenant.liveKey, ...(method === 'PATCH' && { body: {} }) })
      expect(res.status, method).toBe(400)
      expect(res.headers['content-type']).toContain('application/problem+json')
      expect(res.body.code).toBe('validation_failed')
    }
  })

  it('rejects a path id with a space or a disallowed character → 400 validation_failed', async () => {
    for (const id of ['a%20b', 'a%2Fb', 'caf%C3%A9']) {
      for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
        const res = await t.call(method, `/v1/users/${id}`, { auth: tenant.liveKey, ...(method === 'PATCH' && { body: {} }) })
        expect(res.status, `${method} ${id}`).toBe(400)
        expect(res.body.code).toBe('validation_failed')
      }
    }
  })
})

describe('GET /v1/users (list)', () => {
  it('pages with limit and nextCursor and returns every user exactly once', async () => {
    const own = await t.createTenant()
    const ids = Array.from({ length: 23 }, (_, i) => `page-user-${i}`)
    for (const id of ids) await upsertUser(t, own.liveKey, id)

    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const url: string = `/v1/users?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
      const res = await t.call('GET', url, { auth: own.liveKey })
      expect(res.status).toBe(200)
      expect(res.body.data.length).toBeLessThanOrEqual(5)
      seen.push(...res.body.data.map((u: { id: string }) => u.id))
      cursor = res.body.nextCursor
      pages++
      expect(pages).toBeLessThan(10)
    } while (cursor)

    expect(pages).toBe(5)
    expect(seen).toHaveLength(ids.length)
    expect(new Set(seen)).toEqual(new Set(ids))
  })

  it('returns nextCursor null on the last page and defaults to 50', async () => {
    const own = await t.createTenant()
    await upsertUser(t, own.liveKey, 'only')
    const res = await t.call('GET', '/v1/users', { auth: own.liveKey })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ data: [expect.objectContaining({ id: 'only' })], nextCursor: null })
  })

  it.each(['0', '201', 'abc'])('limit=%s → 400 validation_failed', async (limit) => {
    const res = await t.call('GET', `/v1/users?limit=${limit}`, { auth: tenant.liveKey })
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('validation_failed')
  })

  it('a cursor that is not ours → 400, never 500', async () => {
    const res = await t.call('GET', '/v1/users?cursor=garbage!!', { auth: tenant.liveKey })
    expect(res.status).toBe(400)
  })
})

describe('PATCH and DELETE /v1/users/{id}', () => {
  it('patches the given fields only; unknown user → 404', async () => {
    await upsertUser(t, tenant.liveKey, 'patchy', { username: 'p', displayName: 'Patchy' })
    const res = await t.call('PATCH', '/v1/users/patchy', {
      auth: tenant.liveKey,
      body: { avatarUrl: 'https://cdn.example.com/p.png', displayName: null },
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: 'patchy', username: 'p', displayName: null, avatarUrl: 'https://cdn.example.com/p.png' })
    const got = await t.call('GET', '/v1/users/patchy', { auth: tenant.liveKey })
    expect(got.body).toMatchObject({ username: 'p', displayName: null, avatarUrl: 'https://cdn.example.com/p.png' })

    const missing = await t.call('PATCH', '/v1/users/nobody-here', { auth: tenant.liveKey, body: { displayName: 'x' } })
    expect(missing.status).toBe(404)
    expect(missing.body.code).toBe('not_found')
  })

  it('delete → 204; GET → 404; the user’s tokens → 401 token_revoked', async () => {
    await upsertUser(t, tenant.liveKey, 'doomed')
    const { token } = await mintToken(t, tenant.liveKey, 'doomed')
    expect((await t.call('GET', '/v1/me', { auth: token })).status).toBe(200)

    const del = await t.call('DELETE', '/v1/users/doomed', { auth: tenant.liveKey })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')

    const got = await t.call('GET', '/v1/users/doomed', { auth: tenant.liveKey })
    expect(got.status).toBe(404)
    expect(got.body.code).toBe('not_found')

    const me = await t.call('GET', '/v1/me', { auth: token })
    expect(me.status).toBe(401)
    expect(me.body.code).toBe('token_revoked')
    expect(me.headers['www-authenticate']).toBe('Bearer realm="parley", error="invalid_token"')

    expect((await t.call('DELETE', '/v1/users/doomed', { auth: tenant.liveKey })).status).toBe(404)
  })

  it('a user deleted and created again does not revive its old tokens', async () => {
    await upsertUser(t, tenant.liveKey, 'phoenix')
    const { token: old } = await mintToken(t, tenant.liveKey, 'phoenix')
    expect((await t.call('DELETE', '/v1/users/phoenix', { auth: tenant.liveKey })).status).toBe(204)
    await upsertUser(t, tenant.liveKey, 'phoenix')
    const res = await t.call('GET', '/v1/me', { auth: old })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('token_revoked')
    const { token: fresh } = await mintToken(t, tenant.liveKey, 'phoenix')
    expect((await t.call('GET', '/v1/me', { auth: fresh })).status).toBe(200)
  })
})

describe('environments', () => {
  it('test-environment users are invisible to live keys (404) and vice versa', async () => {
    await upsertUser(t, tenant.testKey, 'test-only')
    const fromLive = await t.call('GET', '/v1/users/test-only', { auth: tenant.liveKey })
    expect(fromLive.status).toBe(404)
    expect(fromLive.body.code).toBe('not_found')
    expect((await t.call('PATCH', '/v1/users/test-only', { auth: tenant.liveKey, body: { displayName: 'x' } })).status).toBe(404)
    expect((await t.call('DELETE', '/v1/users/test-only', { auth: tenant.liveKey })).status).toBe(404)
    expect((await t.call('POST', '/v1/users/test-only/revoke-tokens', { auth: tenant.liveKey })).status).toBe(404)
    const mint = await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'test-only' } })
    expect(mint.status).toBe(404)
    expect(mint.body.code).toBe('user_not_found')

    const liveList = await t.call('GET', '/v1/users?limit=200', { auth: tenant.liveKey })
    expect(liveList.body.data.map((u: { id: string }) => u.id)).not.toContain('test-only')
    const testList = await t.call('GET', '/v1/users?limit=200', { auth: tenant.testKey })
    expect(testList.body.data.map((u: { id: string }) => u.id)).toContain('test-only')
    expect(testList.body.data.map((u: { id: string }) => u.id)).not.toContain('alice')

    expect((await t.call('GET', '/v1/users/test-only', { auth: tenant.testKey })).status).toBe(200)
  })

  it('the same id in live and test are two users', async () => {
    await upsertUser(t, tenant.liveKey, 'twin', { displayName: 'Live twin' })
    const inTest = await t.call('POST', '/v1/users', { auth: tenant.testKey, body: { id: 'twin', displayName: 'Test twin' } })
    expect(inTest.status).toBe(201)
    expect((await t.call('GET', '/v1/users/twin', { auth: tenant.liveKey })).body.displayName).toBe('Live twin')
  })

  it('another tenant’s users are 404', async () => {
    const other = await t.createTenant()
    const res = await t.call('GET', '/v1/users/alice', { auth: other.liveKey })
    expect(res.status).toBe(404)
  })
})

describe('POST /v1/users/{id}/revoke-tokens', () => {
  it('revokes tokens minted before the call and keeps those minted after, 20 times in a row', async () => {
    await upsertUser(t, tenant.liveKey, 'revokee')
    for (let i = 0; i < 20; i++) {
      const { token: before } = await mintToken(t, tenant.liveKey, 'revokee')
      // Use it once so it is in every cache before the revocation.
      expect((await t.call('GET', '/v1/me', { auth: before })).status, `round ${i}: before, pre-revoke`).toBe(200)
      const revoke = await t.call('POST', '/v1/users/revokee/revoke-tokens', { auth: tenant.liveKey })
      expect(revoke.status).toBe(204)
      const { token: after } = await mintToken(t, tenant.liveKey, 'revokee')

      const old = await t.call('GET', '/v1/me', { auth: before })
      expect(old.status, `round ${i}: token minted before`).toBe(401)
      expect(old.body.code).toBe('token_revoked')
      const fresh = await t.call('GET', '/v1/me', { auth: after })
      expect(fresh.status, `round ${i}: token minted after`).toBe(200)
      expect(fresh.body.user.id).toBe('revokee')
    }
  })

  it('revokes tokens never used before the call too, and leaves other users alone', async () => {
    await upsertUser(t, tenant.liveKey, 'rv-a')
    await upsertUser(t, tenant.liveKey, 'rv-b')
    const { token: a } = await mintToken(t, tenant.liveKey, 'rv-a')
    const { token: b } = await mintToken(t, tenant.liveKey, 'rv-b')
    expect((await t.call('POST', '/v1/users/rv-a/revoke-tokens', { auth: tenant.liveKey })).status).toBe(204)
    expect((await t.call('GET', '/v1/me', { auth: a })).body.code).toBe('token_revoked')
    expect((await t.call('GET', '/v1/me', { auth: b })).status).toBe(200)
  })

  it('unknown user → 404', async () => {
    const res = await t.call('POST', '/v1/users/ghost/revoke-tokens', { auth: tenant.liveKey })
    expect(res.status).toBe(404)
  })
})

describe('scopes and callers', () => {
  it('users:read cannot write and users:write cannot read', async () => {
    const make = async (scopes: string[]) =>
      (await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'scoped', type: 'secret', scopes } })).body.key as string
    const reader = await make(['users:read'])
    const writer = await make(['users:write'])

    const denied = await t.call('POST', '/v1/users', { auth: reader, body: { id: 'scoped-u' } })
    expect(denied.status).toBe(403)
    expect(denied.body.code).toBe('insufficient_scope')
    expect(denied.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="users:write"')
    expect((await t.call('GET', '/v1/users', { auth: reader })).status).toBe(200)

    expect((await t.call('POST', '/v1/users', { auth: writer, body: { id: 'scoped-u' } })).status).toBe(201)
    const noRead = await t.call('GET', '/v1/users/scoped-u', { auth: writer })
    expect(noRead.status).toBe(403)
    expect(noRead.body.code).toBe('insufficient_scope')
  })

  it('a session token on /v1/users → 403 forbidden', async () => {
    await upsertUser(t, tenant.liveKey, 'sess-u')
    const { token } = await mintToken(t, tenant.liveKey, 'sess-u')
    for (const [method, url] of [
      ['GET', '/v1/users'],
      ['GET', '/v1/users/sess-u'],
      ['POST', '/v1/users'],
      ['DELETE', '/v1/users/sess-u'],
      ['POST', '/v1/users/sess-u/revoke-tokens'],
    ] as const) {
      const res = await t.call(method, url, { auth: token, ...(method === 'POST' && url === '/v1/users' && { body: { id: 'x' } }) })
      expect(res.status, `${method} ${url}`).toBe(403)
      expect(res.body.code).toBe('forbidden')
    }
    expect((await t.call('GET', '/v1/users/sess-u', { auth: tenant.liveKey })).status).toBe(200)
  })
})
