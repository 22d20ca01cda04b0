/**
 * The dashboard session cookie as a credential on the API (DASHBOARD.md "Signing in"): the
 * operator's session is the admin key, a tenant session is the key it signed in with (its tenant,
 * environment and scopes, no more); state changes need Parley's own Origin (CSRF); a credential
 * header wins over the cookie; realtime sockets never take it; a tenant session's requests count
 * as its key's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES } from '../helpers/databases.js'
import { SESSION_COOKIE, fromDashboard, sessionCookie } from '../helpers/dashboard.js'
import { type TestParley, type TestTenant, startParley } from '../helpers/parley.js'
import { expectProblem } from '../helpers/problems.js'
import { openSocket } from '../helpers/sockets.js'
import { CLOSE } from '../../src/realtime/protocol.js'

for (const engine of ENGINES) {
  describe(`the dashboard cookie on the API, on ${engine}`, () => {
    let t: TestParley
    let tenant: TestTenant
    let other: TestTenant
    let operator: string
    let live: string

    beforeAll(async () => {
      t = await startParley({ engine })
      tenant = await t.createTenant()
      other = await t.createTenant()
      operator = await sessionCookie(t, t.adminKey)
      live = await sessionCookie(t, tenant.liveKey)
    })
    afterAll(() => t.close())

    const as = (cookie: string, extra: Record<string, string> = {}) => ({ ...fromDashboard(t, cookie), ...extra })

    it('an operator session is the admin key: operator routes, and a tenant named by x-tenant-id + x-environment', async () => {
      const tenants = await t.call('GET', '/v1/admin/tenants', { headers: as(operator) })
      expect(tenants.status, tenants.text).toBe(200)
      expect(tenants.body.data.map((row: { id: string }) => row.id)).toEqual(expect.arrayContaining([tenant.id, other.id]))

      const acting = as(operator, { 'x-tenant-id': other.id, 'x-environment': 'test' })
      const keys = await t.call('GET', '/v1/keys', { headers: acting })
      expect(keys.status, keys.text).toBe(200)
      expect(keys.body.data.map((key: { id: string }) => key.id)).toEqual([other.testKeyId])
      const created = await t.call('POST', '/v1/users', { headers: acting, body: { id: 'made-by-operator' } })
      expect(created.status, created.text).toBe(201)
      expect((await t.call('GET', '/v1/users/made-by-operator', { auth: other.testKey })).status).toBe(200)

      expectProblem(await t.call('GET', '/v1/keys', { headers: as(operator) }), 400, 'invalid_request')
      expectProblem(await t.call('GET', '/v1/keys', { headers: as(operator, { 'x-tenant-id': 'ten_nobody', 'x-environment': 'live' }) }), 404, 'not_found')
    })

    it('a tenant session is its key: its tenant and environment only', async () => {
      const keys = await t.call('GET', '/v1/keys', { headers: as(live) })
      expect(keys.status, keys.text).toBe(200)
      expect(keys.body.data.map((key: { id: string }) => key.id)).toContain(tenant.liveKeyId)
      expect(keys.body.data.map((key: { id: string }) => key.id)).not.toContain(tenant.testKeyId)
      // Another tenant's key, the other environment's key: not found, as with the key itself.
      expectProblem(await t.call('GET', `/v1/keys/${other.liveKeyId}`, { headers: as(live) }), 404, 'not_found')
      expectProblem(await t.call('GET', `/v1/keys/${tenant.testKeyId}`, { headers: as(live) }), 404, 'not_found')
      // Naming another tenant, or reaching for the operator's routes.
      expectProblem(await t.call('GET', '/v1/keys', { headers: as(live, { 'x-tenant-id': other.id }) }), 401, 'tenant_mismatch')
      expectProblem(await t.call('GET', '/v1/admin/tenants', { headers: as(live) }), 403, 'forbidden')
      // x-environment does not move a tenant session: it stays in its key's environment.
      const stays = await t.call('GET', '/v1/keys', { headers: as(live, { 'x-environment': 'test' }) })
      expect(stays.body.data.map((key: { id: string }) => key.id)).not.toContain(tenant.testKeyId)
    })

    it('a tenant session has its key’s scopes and no more', async () => {
      const scoped = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'reader', type: 'secret', scopes: ['keys:read'] } })
      const cookie = await sessionCookie(t, scoped.body.key)
      expect((await t.call('GET', '/v1/keys', { headers: as(cookie) })).status).toBe(200)
      const refused = await t.call('POST', '/v1/users', { headers: as(cookie), body: { id: 'nope' } })
      expectProblem(refused, 403, 'insufficient_scope')
      expect(refused.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="users:write"')
      expectProblem(await t.call('GET', '/v1/usage', { headers: as(cookie) }), 403, 'insufficient_scope')
    })

    it('state changes need the dashboard’s own Origin (CSRF); reads do not', async () => {
      const cookieOnly = { cookie: `${SESSION_COOKIE}=${live}` }
      expect((await t.call('GET', '/v1/keys', { headers: cookieOnly })).status).toBe(200)

      const bare = expectProblem(await t.call('POST', '/v1/users', { headers: cookieOnly, body: { id: 'csrf-1' } }), 403, 'forbidden')
      expect(bare.detail).toMatch(/no Origin header.*CSRF/)
      const foreign = await t.call('POST', '/v1/users', { headers: { ...cookieOnly, origin: 'https://evil.example' }, body: { id: 'csrf-2' } })
      expect(expectProblem(foreign, 403, 'forbidden').detail).toMatch(/comes from https:\/\/evil\.example.*http:\/\/parley\.test/)
      for (const [method, url] of [['PUT', '/v1/alerts'], ['PATCH', `/v1/keys/${tenant.liveKeyId}`], ['DELETE', '/v1/users/csrf-1']] as const) {
        expectProblem(await t.call(method, url, { headers: { ...cookieOnly, origin: 'null' }, body: {} }), 403, 'forbidden')
      }
      // Operator sessions are held to it just the same.
      expectProblem(await t.call('POST', '/v1/admin/tenants', { headers: { cookie: `${SESSION_COOKIE}=${operator}` }, body: { name: 'CSRF' } }), 403, 'forbidden')
      expect((await t.call('GET', '/v1/users/csrf-2', { auth: tenant.liveKey })).status).toBe(404)

      // From Parley's public origin, or from the origin the request itself was sent to.
      expect((await t.call('POST', '/v1/users', { headers: as(live), body: { id: 'csrf-ok' } })).status).toBe(201)
      const sameHost = { ...cookieOnly, host: 'console.internal:8080', origin: 'http://console.internal:8080' }
      expect((await t.call('POST', '/v1/users', { headers: sameHost, body: { id: 'csrf-host' } })).status).toBe(201)
    })

    it('a credential header wins over the cookie (and needs no Origin)', async () => {
      const revoked = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'revoked', type: 'secret' } })
      await t.call('POST', `/v1/keys/${revoked.body.id}/revoke`, { auth: tenant.liveKey })
      expectProblem(await t.call('GET', '/v1/keys', { headers: as(live, { 'x-api-key': revoked.body.key }) }), 401, 'invalid_api_key')
      const otherTenant = await t.call('GET', '/v1/keys', { headers: { cookie: `${SESSION_COOKIE}=${live}`, authorization: `Bearer ${other.liveKey}` } })
      expect(otherTenant.body.data.map((key: { id: string }) => key.id)).toContain(other.liveKeyId)
      const posted = await t.call('POST', '/v1/users', { headers: { cookie: `${SESSION_COOKIE}=${live}`, 'x-api-key': tenant.liveKey }, body: { id: 'by-header' } })
      expect(posted.status).toBe(201)
    })

    it('counts a tenant session’s requests as its key’s (usage and lastUsedAt)', async () => {
      const key = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'counted', type: 'secret' } })
      const cookie = await sessionCookie(t, key.body.key)
      for (let i = 0; i < 3; i++) await t.call('GET', '/v1/me', { headers: as(cookie) })
      await t.call('GET', `/v1/keys/${other.liveKeyId}`, { headers: as(cookie) })
      await t.parley.flush()
      const usage = await t.call('GET', `/v1/keys/${key.body.id}/usage`, { auth: tenant.liveKey })
      expect(usage.status, usage.text).toBe(200)
      // The sign-in, three reads and one 404.
      expect(usage.body.totals).toMatchObject({ requests: 5, clientErrors: 1 })
      expect(usage.body.lastUsedAt).not.toBeNull()
    })

    it('the operator’s session counts in no tenant’s usage, like the admin key', async () => {
      const acting = as(operator, { 'x-tenant-id': tenant.id, 'x-environment': 'live' })
      const before = await t.call('GET', '/v1/usage', { auth: tenant.liveKey })
      await t.parley.flush()
      for (let i = 0; i < 3; i++) expect((await t.call('GET', '/v1/keys', { headers: acting })).status).toBe(200)
      await t.parley.flush()
      const after = await t.call('GET', '/v1/usage', { auth: tenant.liveKey })
      // Only the two usage reads themselves (made with the key) were added.
      expect(after.body.totals.requests - before.body.totals.requests).toBeLessThanOrEqual(2)
    })

    it('never authenticates a realtime socket: one with only the cookie must still send an auth frame', async () => {
      const url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
      const socket = await openSocket(url, { cookie: `${SESSION_COOKIE}=${live}`, origin: t.publicUrl })
      socket.send({ type: 'typing', conversationId: 'conv_any' })
      expect(await socket.closed()).toBe(CLOSE.unauthorized)
    })
  })
}
