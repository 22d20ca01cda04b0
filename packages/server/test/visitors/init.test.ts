/** §4.3 Visitors: starting a visitor session with a publishable key, and how long its token lasts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestParley, TestTenant } from '../helpers/parley.js'
import { decodeParts } from '../helpers/session-helpers.js'
import { VIS, createPublishableKey, initVisitor, startVisitorWorld } from './world.js'

let t: TestParley
let tenant: TestTenant
let pk: string
beforeAll(async () => {
  ;({ t, tenant, pk } = await startVisitorWorld())
})
afterAll(() => t.close())

const createPk = (secret: string, extra?: Record<string, unknown>) => createPublishableKey(t, secret, extra)
const init = (body: Record<string, unknown>, headers?: Record<string, string>) => initVisitor(t, body, headers)

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
