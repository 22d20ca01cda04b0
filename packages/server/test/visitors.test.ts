/** §4.3 Visitors: publishable-key sessions, refresh, identity, public tenant fields, origin allow-lists. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { decodeParts, mintToken, upsertUser } from './helpers/session-helpers.js'
import { sleep } from './helpers/wait.js'

let t: TestParley
let tenant: TestTenant
let pk: string
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
  ;({ key: pk } = await createPk(tenant.liveKey))
})
afterAll(() => t.close())

async function createPk(secret: string, extra: Record<string, unknown> = {}): Promise<{ key: string; id: string }> {
  const res = await t.call('POST', '/v1/keys', { auth: secret, body: { name: 'web', type: 'publishable', ...extra } })
  if (res.status !== 201) throw new Error(`pk creation failed: ${res.status} ${res.text}`)
  return { key: res.body.key, id: res.body.id }
}

const init = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  t.call('POST', '/v1/identity/init', { body, headers })

const VIS = /^vis_[0-9A-Za-z]{22,}$/

describe('POST /v1/identity/init', () => {
  it('key in the body → 201 { sessionToken, expiresAt, visitor: { id: vis_… } }', async () => {
    const res = await init({ apiKey: pk, visitorId: 'device-1' })
    expect(res.status).toBe(201)
    expect(res.body).toEqual({ sessionToken: expect.any(String), expiresAt: expect.any(String), visitor: expect.objectContaining({ id: expect.stringMatching(VIS) }) })
    expect(res.body.visitor.kind).toBe('visitor')
    const { header, payload } = decodeParts(res.body.sessionToken)
    expect(header.alg).toBe('ES256')
    expect(payload).toMatchObject({ sub: res.body.visitor.id, aud: tenant.id, tid: tenant.id, env: 'live', kind: 'visitor' })
    expect(new Date((payload.exp as number) * 1000).toISOString()).toBe(res.body.expiresAt)
  })

  it('key in x-api-key → 201, and the same visitorId maps to the same visitor', async () => {
    const viaBody = await init({ apiKey: pk, visitorId: 'device-2' })
    const viaHeader = await init({ visitorId: 'device-2' }, { 'x-api-key': pk })
    expect(viaHeader.status).toBe(201)
    expect(viaHeader.body.visitor.id).toBe(viaBody.body.visitor.id)
    expect(viaHeader.body.sessionToken).not.toBe(viaBody.body.sessionToken)
  })

  it('a different visitorId → a different visitor; no visitorId → a new visitor each time', async () => {
    const a = await init({ apiKey: pk, visitorId: 'device-a' })
    const b = await init({ apiKey: pk, visitorId: 'device-b' })
    expect(a.body.visitor.id).not.toBe(b.body.visitor.id)
    const anon1 = await init({ apiKey: pk })
    const anon2 = await init({ apiKey: pk })
    expect(anon1.status).toBe(201)
    expect(anon1.body.visitor.id).toMatch(VIS)
    expect(anon1.body.visitor.id).not.toBe(anon2.body.visitor.id)
  })

  it('the same visitorId through another publishable key of the same tenant and environment → the same visitor', async () => {
    const other = await createPk(tenant.liveKey)
    const first = await init({ apiKey: pk, visitorId: 'device-shared' })
    const second = await init({ apiKey: other.key, visitorId: 'device-shared' })
    expect(second.body.visitor.id).toBe(first.body.visitor.id)
  })

  it('the same visitorId in the test environment or another tenant → a different visitor', async () => {
    const live = await init({ apiKey: pk, visitorId: 'device-iso' })
    const testPk = await createPk(tenant.testKey)
    const inTest = await init({ apiKey: testPk.key, visitorId: 'device-iso' })
    expect(inTest.status).toBe(201)
    expect(inTest.body.visitor.id).not.toBe(live.body.visitor.id)
    expect(decodeParts(inTest.body.sessionToken).payload.env).toBe('test')

    const otherTenant = await t.createTenant()
    const otherPk = await createPk(otherTenant.liveKey)
    const elsewhere = await init({ apiKey: otherPk.key, visitorId: 'device-iso' })
    expect(elsewhere.body.visitor.id).not.toBe(live.body.visitor.id)
  })

  it('concurrent inits with one new visitorId create one visitor', async () => {
    const countVisitors = async () => {
      const res = await t.call('GET', '/v1/users?limit=200', { auth: tenant.liveKey })
      return res.body.data.filter((u: { kind: string }) => u.kind === 'visitor').length as number
    }
    const before = await countVisitors()
    const results = await Promise.all(Array.from({ length: 12 }, () => init({ apiKey: pk, visitorId: 'device-race' })))
    for (const res of results) expect(res.status).toBe(201)
    expect(new Set(results.map((r) => r.body.visitor.id)).size).toBe(1)
    expect(await countVisitors()).toBe(before + 1)
  })

  it('stores the profile', async () => {
    const res = await init({ apiKey: pk, visitorId: 'device-profile', profile: { name: 'Vera', email: 'vera@example.com' } })
    expect(res.status).toBe(201)
    expect(res.body.visitor).toMatchObject({ displayName: 'Vera', email: 'vera@example.com' })
    const me = await t.call('GET', '/v1/identity/me', { auth: res.body.sessionToken })
    expect(me.body.user).toMatchObject({ id: res.body.visitor.id, displayName: 'Vera' })
  })

  describe('a known visitorId (the visitor’s secret, §12)', () => {
    // The profile a visitor's first init stored, plus what the tenant later set with its secret key.
    const stored = { name: 'Vera', email: 'vera@example.com' }
    let first: { visitor: any; sessionToken: string }
    beforeAll(async () => {
      first = (await init({ apiKey: pk, visitorId: 'device-known', profile: stored })).body
      const patched = await t.call('PATCH', `/v1/users/${first.visitor.id}`, {
        auth: tenant.liveKey,
        body: { username: 'vera-1', avatarUrl: 'https://cdn.example.com/vera.png', metadata: { plan: 'gold' } },
      })
      expect(patched.status).toBe(200)
    })

    /** The stored profile, as the visitor's own first session and the tenant see it. */
    async function storedProfile() {
      const me = await t.call('GET', '/v1/identity/me', { auth: first.sessionToken })
      const user = await t.call('GET', `/v1/users/${first.visitor.id}`, { auth: tenant.liveKey })
      return { ...user.body, email: me.body.user.email }
    }

    it('init without a profile → the same visitor, and none of its stored profile', async () => {
      const before = await storedProfile()
      const res = await init({ apiKey: pk, visitorId: 'device-known' })
      expect(res.status).toBe(201)
      expect(res.body.visitor).toEqual({
        id: first.visitor.id,
        kind: 'visitor',
        visitorId: 'device-known',
        username: null,
        displayName: null,
        avatarUrl: null,
        metadata: null,
        email: null,
        createdAt: before.createdAt,
        updatedAt: before.updatedAt,
      })
      expect(decodeParts(res.body.sessionToken).payload.sub).toBe(first.visitor.id)
    })

    it('init with another profile → only what was sent comes back, and the stored profile stays as it was', async () => {
      const before = await storedProfile()
      const res = await init({ apiKey: pk, visitorId: 'device-known', profile: { name: 'Mallory', email: 'mallory@evil.test' } })
      expect(res.status).toBe(201)
      expect(res.body.visitor).toMatchObject({ id: first.visitor.id, displayName: 'Mallory', email: 'mallory@evil.test', username: null, avatarUrl: null, metadata: null })
      const after = await storedProfile()
      expect(after).toEqual(before)
      expect(after).toMatchObject({ displayName: 'Vera', email: 'vera@example.com', username: 'vera-1', metadata: { plan: 'gold' } })
      const me = await t.call('GET', '/v1/identity/me', { auth: res.body.sessionToken })
      expect(me.body.user).toMatchObject({ id: first.visitor.id, displayName: 'Vera' })
    })

    it('sending only a name does not reveal the stored email', async () => {
      const res = await init({ apiKey: pk, visitorId: 'device-known', profile: { name: 'Vera' } })
      expect(res.body.visitor).toMatchObject({ displayName: 'Vera', email: null })
    })

    it('concurrent inits with one new visitorId and different profiles store exactly one of them', async () => {
      const profiles = Array.from({ length: 6 }, (_, i) => ({ name: `racer ${i}`, email: `racer${i}@example.com` }))
      const results = await Promise.all(profiles.map((profile) => init({ apiKey: pk, visitorId: 'device-profile-race', profile })))
      for (const res of results) expect(res.status).toBe(201)
      const me = await t.call('GET', '/v1/identity/me', { auth: results[0]!.body.sessionToken })
      const winner = profiles.find((p) => p.name === me.body.user.displayName)
      expect(winner).toBeDefined()
      expect(me.body.user.email).toBe(winner!.email)
      // Each answer is either the creation (the stored profile) or a returning visit (its own profile echoed).
      for (const [i, res] of results.entries()) expect(res.body.visitor).toMatchObject({ displayName: profiles[i]!.name, email: profiles[i]!.email })
    })
  })

  it.each([
    [{ visitorId: 'has space' }],
    [{ visitorId: 'x'.repeat(129) }],
    [{ profile: { email: 'not-an-email' } }],
    [{ unknown: true }],
  ])('an invalid body %j → 400 validation_failed', async (body) => {
    const res = await init({ ...body }, { 'x-api-key': pk })
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('validation_failed')
  })

  it('no key at all → 401 authentication_required', async () => {
    const res = await init({ visitorId: 'nokey' })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('authentication_required')
  })
})

describe('visitor token lifetime', () => {
  it('defaults to 30 minutes', async () => {
    const before = Date.now()
    const res = await init({ apiKey: pk, visitorId: 'ttl-default' })
    const { payload } = decodeParts(res.body.sessionToken)
    expect((payload.exp as number) - (payload.iat as number)).toBe(1800)
    const left = Date.parse(res.body.expiresAt) - before
    expect(left).toBeGreaterThan(1799_000 - 1000)
    expect(left).toBeLessThanOrEqual(1801_000)
  })

  it('follows the key’s visitorTtlSeconds, at creation and after a PATCH', async () => {
    const short = await createPk(tenant.liveKey, { visitorTtlSeconds: 120 })
    const res = await init({ apiKey: short.key, visitorId: 'ttl-short' })
    const { payload } = decodeParts(res.body.sessionToken)
    expect((payload.exp as number) - (payload.iat as number)).toBe(120)

    const patched = await t.call('PATCH', `/v1/keys/${short.id}`, { auth: tenant.liveKey, body: { visitorTtlSeconds: 900 } })
    expect(patched.status).toBe(200)
    const again = await init({ apiKey: short.key, visitorId: 'ttl-short' })
    const p2 = decodeParts(again.body.sessionToken).payload
    expect((p2.exp as number) - (p2.iat as number)).toBe(900)

    // A refresh keeps following the key.
    const refreshed = await t.call('POST', '/v1/identity/refresh', { auth: again.body.sessionToken })
    const p3 = decodeParts(refreshed.body.sessionToken).payload
    expect((p3.exp as number) - (p3.iat as number)).toBe(900)
  })
})

describe('POST /v1/identity/refresh', () => {
  it('a visitor token → 200 { sessionToken, expiresAt }, a fresh token for the same visitor', async () => {
    const opened = await init({ apiKey: pk, visitorId: 'refresher' })
    await sleep(1100) // so the new exp is later
    const res = await t.call('POST', '/v1/identity/refresh', { auth: opened.body.sessionToken })
    expect(res.status).toBe(200)
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'sessionToken'])
    expect(res.body.sessionToken).not.toBe(opened.body.sessionToken)
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.parse(opened.body.expiresAt))
    const fresh = decodeParts(res.body.sessionToken).payload
    expect(fresh).toMatchObject({ sub: opened.body.visitor.id, kind: 'visitor', tid: tenant.id, env: 'live' })

    const me = await t.call('GET', '/v1/identity/me', { auth: res.body.sessionToken })
    expect(me.status).toBe(200)
    expect(me.body.user.id).toBe(opened.body.visitor.id)
  })

  it('a user token → 403 forbidden', async () => {
    await upsertUser(t, tenant.liveKey, 'regular')
    const { token } = await mintToken(t, tenant.liveKey, 'regular')
    const res = await t.call('POST', '/v1/identity/refresh', { auth: token })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('forbidden')
    expect(res.body.sessionToken).toBeUndefined()
  })

  it('keys cannot refresh: a secret key → 403, a publishable key → 403 key_type_not_allowed', async () => {
    const secret = await t.call('POST', '/v1/identity/refresh', { auth: tenant.liveKey })
    expect(secret.status).toBe(403)
    const publishable = await t.call('POST', '/v1/identity/refresh', { headers: { 'x-api-key': pk } })
    expect(publishable.status).toBe(403)
    expect(publishable.body.code).toBe('key_type_not_allowed')
  })

  it('a revoked visitor (token revocation) cannot refresh', async () => {
    const opened = await init({ apiKey: pk, visitorId: 'revoked-visitor' })
    const revoke = await t.call('POST', `/v1/users/${opened.body.visitor.id}/revoke-tokens`, { auth: tenant.liveKey })
    expect(revoke.status).toBe(204)
    const res = await t.call('POST', '/v1/identity/refresh', { auth: opened.body.sessionToken })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('token_revoked')
  })

  it('after its publishable key is revoked, a visitor cannot refresh', async () => {
    const own = await createPk(tenant.liveKey)
    const opened = await init({ apiKey: own.key, visitorId: 'orphan' })
    expect((await t.call('POST', `/v1/keys/${own.id}/revoke`, { auth: tenant.liveKey })).status).toBe(200)
    const res = await t.call('POST', '/v1/identity/refresh', { auth: opened.body.sessionToken })
    expect(res.status).toBe(401)
    expect(res.body.sessionToken).toBeUndefined()
  })
})

describe('GET /v1/identity/me', () => {
  it('a visitor token → { user, tenant: { id, name }, expiresAt }', async () => {
    const opened = await init({ apiKey: pk, visitorId: 'who-am-i' })
    const res = await t.call('GET', '/v1/identity/me', { auth: opened.body.sessionToken })
    expect(res.status).toBe(200)
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'tenant', 'user'])
    expect(res.body.user).toMatchObject({ id: opened.body.visitor.id, kind: 'visitor' })
    expect(res.body.tenant).toEqual({ id: tenant.id, name: 'Acme' })
    expect(res.body.expiresAt).toBe(opened.body.expiresAt)
  })

  it('a user token → the user', async () => {
    await upsertUser(t, tenant.liveKey, 'idme', { displayName: 'Id Me' })
    const { token, expiresAt } = await mintToken(t, tenant.liveKey, 'idme')
    const res = await t.call('GET', '/v1/identity/me', { auth: token })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ user: { id: 'idme', kind: 'user', displayName: 'Id Me' }, tenant: { id: tenant.id, name: 'Acme' }, expiresAt })
  })

  it('keys → 403 (a session token is needed)', async () => {
    expect((await t.call('GET', '/v1/identity/me', { auth: tenant.liveKey })).status).toBe(403)
    expect((await t.call('GET', '/v1/identity/me', { headers: { 'x-api-key': pk } })).status).toBe(403)
  })
})

describe('what publishable keys and visitors may do', () => {
  it('GET /v1/tenant with a publishable key → { id, name } only', async () => {
    const res = await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': pk } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: tenant.id, name: 'Acme' })
  })

  it('GET /v1/tenant with a secret key → 403 key_type_not_allowed', async () => {
    const res = await t.call('GET', '/v1/tenant', { auth: tenant.liveKey })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('key_type_not_allowed')
  })

  it('a secret key on /v1/identity/init → 403 key_type_not_allowed (header or Authorization)', async () => {
    const variants: Array<Record<string, string>> = [{ 'x-api-key': tenant.liveKey }, { authorization: `Bearer ${tenant.liveKey}` }]
    for (const headers of variants) {
      const res = await init({ visitorId: 'sk-visitor' }, headers)
      expect(res.status).toBe(403)
      expect(res.body.code).toBe('key_type_not_allowed')
      expect(res.body.sessionToken).toBeUndefined()
    }
  })

  it('a secret key in the apiKey body field is never accepted', async () => {
    const res = await init({ apiKey: tenant.liveKey, visitorId: 'sk-body' })
    expect(res.status).toBe(401)
    expect(res.body.sessionToken).toBeUndefined()
  })

  it('a publishable key on any other route → 403 key_type_not_allowed', async () => {
    for (const [method, url] of [
      ['GET', '/v1/me'],
      ['GET', '/v1/users'],
      ['GET', '/v1/keys'],
      ['GET', '/v1/conversations'],
    ] as const) {
      const res = await t.call(method, url, { headers: { 'x-api-key': pk } })
      expect(res.status, url).toBe(403)
      expect(res.body.code, url).toBe('key_type_not_allowed')
    }
  })

  it('a visitor token on tenant-level routes → 403 forbidden', async () => {
    const opened = await init({ apiKey: pk, visitorId: 'nosy' })
    for (const url of ['/v1/users', '/v1/keys']) {
      const res = await t.call('GET', url, { auth: opened.body.sessionToken })
      expect(res.status, url).toBe(403)
      expect(res.body.code, url).toBe('forbidden')
    }
  })

  it('a revoked publishable key → 401 invalid_api_key', async () => {
    const own = await createPk(tenant.liveKey)
    expect((await init({ apiKey: own.key })).status).toBe(201)
    const revoked = await t.call('POST', `/v1/keys/${own.id}/revoke`, { auth: tenant.liveKey })
    expect(revoked.status).toBe(200)
    for (const res of [await init({ apiKey: own.key }), await init({}, { 'x-api-key': own.key }), await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': own.key } })]) {
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('invalid_api_key')
    }
  })

  it('a publishable key with a broken checksum → 401 invalid_api_key', async () => {
    const last = pk.at(-1) === 'A' ? 'B' : 'A'
    const res = await init({ apiKey: `${pk.slice(0, -1)}${last}` })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_api_key')
  })
})

describe('conversations a visitor creates (§12)', () => {
  let visitor: { id: string; token: string }
  beforeAll(async () => {
    const opened = await init({ apiKey: pk, visitorId: 'creator' })
    visitor = { id: opened.body.visitor.id, token: opened.body.sessionToken }
    await upsertUser(t, tenant.liveKey, 'agent')
  })
  const create = (body: Record<string, unknown>) => t.call('POST', '/v1/conversations', { auth: visitor.token, body })
  const memberIds = (conversation: any) => conversation.members.map((m: any) => m.userId)

  it.each([[[]], [['self']]])('members %j → 201 with the visitor as its only member, under an id Parley picks', async (members) => {
    const res = await create({ type: 'group', members: members.map((m) => (m === 'self' ? visitor.id : m)) })
    expect(res.status).toBe(201)
    expect(memberIds(res.body)).toEqual([visitor.id])
    expect(res.body.id).toMatch(/^conv_/)
  })

  it('naming an existing or an unknown user gives the same 403 forbidden, and creates nothing', async () => {
    const before = await t.call('GET', '/v1/conversations', { auth: visitor.token })
    const answers = []
    for (const body of [
      { type: 'group', members: ['agent'] },
      { type: 'group', members: ['ghost-user'] },
      { type: 'group', members: [visitor.id, 'agent'] },
      { type: 'group', members: [visitor.id, 'ghost-user'] },
      { type: 'direct', members: ['agent'] },
      { type: 'direct', members: ['ghost-user'] },
    ]) {
      const res = await create(body)
      answers.push({ status: res.status, code: res.body.code, detail: res.body.detail })
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1)
    expect(answers[0]).toMatchObject({ status: 403, code: 'forbidden' })
    const after = await t.call('GET', '/v1/conversations', { auth: visitor.token })
    expect(after.body.data).toEqual(before.body.data)
  })

  it('choosing an id → 403 forbidden, whether that id is free or taken', async () => {
    const taken = await t.call('POST', '/v1/conversations', { auth: tenant.liveKey, body: { id: 'support-taken', type: 'group', members: ['agent'] } })
    expect(taken.status).toBe(201)
    for (const id of ['support-free', 'support-taken']) {
      const res = await create({ id, type: 'group', members: [] })
      expect(res.status, id).toBe(403)
      expect(res.body.code, id).toBe('forbidden')
    }
    expect((await t.call('GET', '/v1/conversations/support-free', { auth: tenant.liveKey })).status).toBe(404)
    const detail = await t.call('GET', '/v1/conversations/support-taken', { auth: tenant.liveKey })
    expect(memberIds(detail.body)).toEqual(['agent'])
  })

  it('the tenant adds an agent with its secret key, and then both talk', async () => {
    const created = await create({ type: 'group', members: [] })
    const id = created.body.id
    const added = await t.call('POST', `/v1/conversations/${id}/members`, { auth: tenant.liveKey, body: { userIds: ['agent'] } })
    expect(added.status).toBe(200)
    expect(memberIds(added.body).sort()).toEqual([visitor.id, 'agent'].sort())
    expect((await t.call('POST', `/v1/conversations/${id}/messages`, { auth: visitor.token, body: { text: 'help please' } })).status).toBe(201)
    const reply = await t.call('POST', `/v1/conversations/${id}/messages`, { auth: tenant.liveKey, body: { text: 'on it', senderId: 'agent' } })
    expect(reply.status).toBe(201)
    const history = await t.call('GET', `/v1/conversations/${id}/messages`, { auth: visitor.token })
    expect(history.body.data.map((m: any) => m.text)).toEqual(['help please', 'on it'])
  })

  it('a user’s session token still names other members and may choose the id', async () => {
    await upsertUser(t, tenant.liveKey, 'customer')
    const { token } = await mintToken(t, tenant.liveKey, 'customer')
    const res = await t.call('POST', '/v1/conversations', { auth: token, body: { id: 'customer-chat', type: 'group', members: ['agent'] } })
    expect(res.status).toBe(201)
    expect(memberIds(res.body).sort()).toEqual(['agent', 'customer'])
  })
})

describe('origin allow-list', () => {
  let restricted: string
  beforeAll(async () => {
    ;({ key: restricted } = await createPk(tenant.liveKey, { allowedOrigins: ['https://app.example.com', 'http://localhost:3000'] }))
  })

  it.each(['https://app.example.com', 'http://localhost:3000'])('exact origin %s passes (init and /v1/tenant)', async (origin) => {
    const res = await init({ apiKey: restricted, visitorId: 'origin-ok' }, { origin })
    expect(res.status).toBe(201)
    const ten = await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': restricted, origin } })
    expect(ten.status).toBe(200)
  })

  it.each([
    ['a lookalike suffix', 'https://app.example.com.evil.test'],
    ['http for an https entry', 'http://app.example.com'],
    ['another port', 'https://app.example.com:8443'],
    ['another port (localhost)', 'http://localhost:3001'],
    ['"null"', 'null'],
    ['a sibling subdomain', 'https://www.example.com'],
    ['a parent domain', 'https://example.com'],
    ['a prefix lookalike', 'https://evilapp.example.com'],
    ['a trailing slash', 'https://app.example.com/'],
    ['an empty Origin', ''],
  ])('%s (%s) → 403 origin_not_allowed', async (_what, origin) => {
    const res = await init({ apiKey: restricted, visitorId: 'origin-bad' }, { origin })
    expect(res.status).toBe(403)
    expect(res.headers['content-type']).toContain('application/problem+json')
    expect(res.body.code).toBe('origin_not_allowed')
    expect(res.body.sessionToken).toBeUndefined()
    const ten = await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': restricted, origin } })
    expect(ten.status).toBe(403)
    expect(ten.body.code).toBe('origin_not_allowed')
  })

  it('no Origin header at all → 403 origin_not_allowed', async () => {
    const res = await init({ apiKey: restricted, visitorId: 'origin-none' })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('origin_not_allowed')
    const viaHeader = await init({ visitorId: 'origin-none' }, { 'x-api-key': restricted })
    expect(viaHeader.status).toBe(403)
    expect(viaHeader.body.code).toBe('origin_not_allowed')
  })

  it('a key without an allow-list accepts any origin and none', async () => {
    expect((await init({ apiKey: pk }, { origin: 'https://anything.test' })).status).toBe(201)
    expect((await init({ apiKey: pk })).status).toBe(201)
  })
})
