/** §4.3 Visitors: refreshing a visitor session, and who the session says it is (/v1/identity/me). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestParley, TestTenant } from '../helpers/parley.js'
import { decodeParts, mintToken, upsertUser } from '../helpers/session-helpers.js'
import { sleep } from '../helpers/wait.js'
import { createPublishableKey, initVisitor, startVisitorWorld } from './world.js'

let t: TestParley
let tenant: TestTenant
let pk: string
beforeAll(async () => {
  ;({ t, tenant, pk } = await startVisitorWorld())
})
afterAll(() => t.close())

const createPk = (secret: string, extra?: Record<string, unknown>) => createPublishableKey(t, secret, extra)
const init = (body: Record<string, unknown>, headers?: Record<string, string>) => initVisitor(t, body, headers)

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
