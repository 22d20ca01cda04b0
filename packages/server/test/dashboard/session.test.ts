/**
 * The dashboard's sign-in session (DASHBOARD.md "Signing in"): the admin key or a tenant secret
 * key exchanged for an httpOnly cookie, stored only as its hash, 12 hours, ended by sign-out, by
 * its expiry and by its key's revocation; the cookie itself never stored nor logged. On every
 * storage engine (the sessions are rows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../src/lib/crypto.js'
import { ENGINES, createDurableDatabase } from '../helpers/databases.js'
import { SESSION_COOKIE, fromDashboard, sessionCookie, signIn } from '../helpers/dashboard.js'
import { type TestParley, type TestTenant, capturedLogs, startParley } from '../helpers/parley.js'
import { expectProblem } from '../helpers/problems.js'
import { ISO_TIMESTAMP } from '../helpers/values.js'

const TWELVE_HOURS = 12 * 3600_000
const COOKIE_SHAPE = /^[A-Za-z0-9_-]{43}$/

for (const engine of ENGINES) {
  describe(`dashboard sessions on ${engine}`, () => {
    let t: TestParley
    let tenant: TestTenant
    /** Every cookie value this suite was given: none may be stored or logged. */
    const cookies: string[] = []
    const keep = (cookie: string) => (cookies.push(cookie), cookie)

    beforeAll(async () => {
      t = await startParley({ engine })
      tenant = await t.createTenant()
    })
    afterAll(() => t.close())

    const session = (cookie: string) => t.call('GET', '/v1/dashboard/session', { headers: fromDashboard(t, cookie) })

    it('signs the admin key in as the operator, with a strict cookie', async () => {
      const before = Date.now()
      const { res, cookie, setCookie } = await signIn(t, t.adminKey)
      expect(res.status, res.text).toBe(200)
      expect(res.body).toEqual({ kind: 'operator', tenant: null, environment: null, scopes: null, expiresAt: expect.stringMatching(ISO_TIMESTAMP) })
      expect(Date.parse(res.body.expiresAt) - before).toBeGreaterThanOrEqual(TWELVE_HOURS - 1000)
      expect(Date.parse(res.body.expiresAt) - Date.now()).toBeLessThanOrEqual(TWELVE_HOURS)
      expect(keep(cookie!)).toMatch(COOKIE_SHAPE)
      // Exactly these attributes; no Secure on an http public URL (a browser would drop the cookie).
      expect(setCookie).toBe(`${SESSION_COOKIE}=${cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`)
      expect(res.headers['cache-control']).toBe('no-store')
      expect((await session(cookie!)).body).toEqual(res.body)
    })

    it('signs a tenant secret key in to its tenant and environment', async () => {
      const { res, cookie } = await signIn(t, tenant.testKey)
      expect(res.status, res.text).toBe(200)
      expect(res.body).toEqual({
        kind: 'tenant',
        tenant: { id: tenant.id, name: 'Acme', plan: 'pro' },
        environment: 'test',
        scopes: [],
        expiresAt: expect.stringMatching(ISO_TIMESTAMP),
      })
      keep(cookie!)
      const again = await session(cookie!)
      expect(again.status).toBe(200)
      expect(again.body).toEqual(res.body)
    })

    it('shows a scoped key’s scopes as they are now', async () => {
      const key = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'viewer', type: 'secret', scopes: ['keys:read', 'usage:read'] } })
      const cookie = keep(await sessionCookie(t, key.body.key))
      expect((await session(cookie)).body.scopes).toEqual(['keys:read', 'usage:read'])
      await t.call('PATCH', `/v1/keys/${key.body.id}`, { auth: tenant.liveKey, body: { scopes: ['usage:read'] } })
      expect((await session(cookie)).body.scopes).toEqual(['usage:read'])
    })

    it('refuses publishable keys, session tokens and wrong keys with 401 and no cookie', async () => {
      const publishable = (await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'web', type: 'publishable' } })).body.key
      await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: 'alice' } })
      const token = (await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'alice' } })).body.token
      const revoked = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'gone', type: 'secret' } })
      await t.call('POST', `/v1/keys/${revoked.body.id}/revoke`, { auth: tenant.liveKey })
      const wrong = [publishable, token, revoked.body.key, `${t.adminKey}x`, 'sk_live_nonsense', tenant.liveKey.slice(0, -1) + (tenant.liveKey.endsWith('A') ? 'B' : 'A')]
      for (const key of wrong) {
        const { res, setCookie } = await signIn(t, key)
        expectProblem(res, 401, 'invalid_api_key')
        expect(setCookie).toBeNull()
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="parley"/)
      }
      expect((await signIn(t, publishable)).res.body.detail).toMatch(/admin key or a secret key.*not a publishable key/)
      expect((await signIn(t, token)).res.body.detail).toMatch(/not a session token/)
      // No key at all, and a key sent as a header rather than in the body.
      expectProblem(await t.call('POST', '/v1/dashboard/session', { body: {} }), 401, 'authentication_required')
      expectProblem(await t.call('POST', '/v1/dashboard/session', { auth: t.adminKey, body: {} }), 401, 'authentication_required')
    })

    it('refuses a sign-in sent from another origin (login CSRF), and takes one from its own', async () => {
      const foreign = await signIn(t, t.adminKey, { origin: 'https://evil.example' })
      expect(expectProblem(foreign.res, 403, 'forbidden').detail).toMatch(/evil\.example.*CSRF/)
      expect(foreign.setCookie).toBeNull()
      const own = await signIn(t, t.adminKey, { origin: t.publicUrl })
      expect(own.res.status).toBe(200)
      keep(own.cookie!)
    })

    it('signing in again ends the session the browser held', async () => {
      const first = keep(await sessionCookie(t, tenant.liveKey))
      const second = await signIn(t, tenant.liveKey, { cookie: `${SESSION_COOKIE}=${first}` })
      expect(second.res.status).toBe(200)
      keep(second.cookie!)
      expectProblem(await session(first), 401, 'authentication_required')
      expect((await session(second.cookie!)).status).toBe(200)
    })

    it('takes only the cookie on GET and DELETE /v1/dashboard/session', async () => {
      expectProblem(await t.call('GET', '/v1/dashboard/session'), 401, 'authentication_required')
      const byKey = await t.call('GET', '/v1/dashboard/session', { auth: tenant.liveKey })
      expect(expectProblem(byKey, 403, 'key_type_not_allowed').detail).toMatch(/dashboard session cookie/)
      expectProblem(await t.call('GET', '/v1/dashboard/session', { auth: t.adminKey }), 403, 'key_type_not_allowed')
      expectProblem(await t.call('GET', '/v1/dashboard/session', { headers: { cookie: `${SESSION_COOKIE}=not-a-session` } }), 401, 'authentication_required')
      expectProblem(await t.call('GET', '/v1/dashboard/session', { headers: { cookie: `${SESSION_COOKIE}=${'A'.repeat(43)}` } }), 401, 'authentication_required')
    })

    it('signs out: 204, the cookie cleared, and the session refused from then on', async () => {
      for (const key of [t.adminKey, tenant.liveKey]) {
        const cookie = keep(await sessionCookie(t, key))
        const out = await t.call('DELETE', '/v1/dashboard/session', { headers: fromDashboard(t, cookie) })
        expect(out.status, out.text).toBe(204)
        expect(out.headers['set-cookie']).toBe(`${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`)
        expectProblem(await session(cookie), 401, 'authentication_required')
        expectProblem(await t.call('GET', '/v1/keys', { headers: fromDashboard(t, cookie) }), 401, 'authentication_required')
        expectProblem(await t.call('DELETE', '/v1/dashboard/session', { headers: fromDashboard(t, cookie) }), 401, 'authentication_required')
      }
      const row = await t.parley.store.db.selectFrom('dashboard_sessions').select('revoked_at').where('revoked_at', 'is not', null).executeTakeFirst()
      expect(row?.revoked_at).toMatch(ISO_TIMESTAMP)
    })

    it('signing out needs the dashboard’s own Origin, like every state change with the cookie', async () => {
      const cookie = keep(await sessionCookie(t, tenant.liveKey))
      const bare = await t.call('DELETE', '/v1/dashboard/session', { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } })
      expectProblem(bare, 403, 'forbidden')
      expect((await session(cookie)).status).toBe(200)
    })

    it('a revoked key ends its sessions on their next request', async () => {
      const key = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'to revoke', type: 'secret' } })
      const cookie = keep(await sessionCookie(t, key.body.key))
      expect((await t.call('GET', '/v1/keys', { headers: fromDashboard(t, cookie) })).status).toBe(200)
      await t.call('POST', `/v1/keys/${key.body.id}/revoke`, { auth: tenant.liveKey })
      const refused = expectProblem(await t.call('GET', '/v1/keys', { headers: fromDashboard(t, cookie) }), 401, 'invalid_api_key')
      expect(refused.detail).toMatch(/dashboard session .*revoked or expired/)
      expectProblem(await session(cookie), 401, 'invalid_api_key')
    })

    it('a rolled key keeps its sessions through the grace period, and ends them with it', async () => {
      const key = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'to roll', type: 'secret' } })
      const graced = keep(await sessionCookie(t, key.body.key))
      await t.call('POST', `/v1/keys/${key.body.id}/roll`, { auth: tenant.liveKey, body: { expiresInSeconds: 3600 } })
      expect((await session(graced)).status).toBe(200)

      const other = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'to roll now', type: 'secret' } })
      const ended = keep(await sessionCookie(t, other.body.key))
      expect((await session(ended)).status).toBe(200)
      await t.call('POST', `/v1/keys/${other.body.id}/roll`, { auth: tenant.liveKey, body: { expiresInSeconds: 0 } })
      expectProblem(await session(ended), 401, 'invalid_api_key')
    })

    it('a deleted tenant ends its sessions; a suspended one refuses them', async () => {
      const doomed = await t.createTenant()
      const cookie = keep(await sessionCookie(t, doomed.liveKey))
      await t.call('PATCH', `/v1/admin/tenants/${doomed.id}`, { auth: t.adminKey, body: { suspended: true } })
      expectProblem(await session(cookie), 403, 'forbidden')
      await t.call('DELETE', `/v1/admin/tenants/${doomed.id}`, { auth: t.adminKey })
      expectProblem(await session(cookie), 401, 'invalid_api_key')
    })

    it('ends after 12 hours: an expiry in storage, and one reached after the session was read', async () => {
      const stored = keep(await sessionCookie(t, tenant.liveKey))
      await t.parley.store.db
        .updateTable('dashboard_sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('token_hash', '=', sha256Hex(stored))
        .execute()
      expectProblem(await session(stored), 401, 'authentication_required')

      const read = keep(await sessionCookie(t, t.adminKey))
      expect((await session(read)).status).toBe(200)
      const sessions = t.parley.services.dashboardSessions
      const at = (ms: number) => Promise.resolve().then(() => sessions.find(read, ms))
      expect((await at(Date.now() + TWELVE_HOURS - 60_000)).kind).toBe('operator')
      await expect(at(Date.now() + TWELVE_HOURS + 1000)).rejects.toThrow(/session has ended/)
    })

    it('stores a session as the SHA-256 of its cookie, never the cookie', async () => {
      const db = t.parley.store.db
      const hashes = (await db.selectFrom('dashboard_sessions').select('token_hash').execute()).map((row) => row.token_hash)
      expect(cookies.length).toBeGreaterThan(10)
      expect(hashes).toContain(sha256Hex(cookies[0]!))
      const tables = await db.introspection.getTables({ withInternalKyselyTables: true })
      let cells = 0
      for (const table of tables) {
        const rows = (await db.selectFrom(table.name as never).selectAll().execute()) as Record<string, unknown>[]
        for (const row of rows) {
          for (const [column, value] of Object.entries(row)) {
            if (typeof value !== 'string') continue
            cells++
            for (const cookie of cookies) expect(value.includes(cookie), `${table.name}.${column} holds a session cookie`).toBe(false)
          }
        }
      }
      expect(cells).toBeGreaterThan(50)
      // An operator session carries no admin-key hash in the clear, only its KEK-sealed form.
      const seals = await db.selectFrom('dashboard_sessions').select('admin_key_seal').where('kind', '=', 'operator').execute()
      expect(seals.length).toBeGreaterThan(0)
      for (const { admin_key_seal } of seals) {
        expect(admin_key_seal).toMatch(/^v1\./)
        expect(admin_key_seal).not.toContain(sha256Hex(t.adminKey))
      }
    })

    it('never logs a cookie', () => {
      const logs = capturedLogs.join('')
      expect(logs).toContain('/v1/dashboard/session')
      for (const cookie of cookies) expect(logs.includes(cookie), 'a log line holds a session cookie').toBe(false)
    })

    // Last: pruning as if 12 hours had passed deletes every session of this suite.
    it('prunes ended sessions', async () => {
      const cookie = keep(await sessionCookie(t, tenant.liveKey))
      const hash = sha256Hex(cookie)
      const count = () => t.parley.store.db.selectFrom('dashboard_sessions').select('id').where('token_hash', '=', hash).execute()
      await t.parley.services.dashboardSessions.prune(Date.now())
      expect(await count()).toHaveLength(1)
      await t.parley.services.dashboardSessions.prune(Date.now() + TWELVE_HOURS + 1000)
      expect(await count()).toHaveLength(0)
      expectProblem(await session(cookie), 401, 'authentication_required')
    })
  })
}

describe('a dashboard behind https', () => {
  let t: TestParley
  beforeAll(async () => {
    t = await startParley({ env: { PARLEY_PUBLIC_URL: 'https://parley.example' } })
  })
  afterAll(() => t.close())

  it('sets and clears the cookie with Secure', async () => {
    const { cookie, setCookie } = await signIn(t, t.adminKey)
    expect(setCookie).toBe(`${SESSION_COOKIE}=${cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200; Secure`)
    const out = await t.call('DELETE', '/v1/dashboard/session', { headers: { cookie: `${SESSION_COOKIE}=${cookie}`, origin: 'https://parley.example' } })
    expect(out.status).toBe(204)
    expect(out.headers['set-cookie']).toBe(`${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure`)
  })
})

describe('operator sessions and the admin key', () => {
  it('end when PARLEY_ADMIN_KEY changes (the same database, restarted with another key)', async () => {
    const database = await createDurableDatabase(ENGINES.at(-1)!)
    const kek = Buffer.alloc(32, 7).toString('base64')
    const first = await startParley({ databaseUrl: database.url, env: { PARLEY_SIGNING_KEK: kek } })
    const cookie = await sessionCookie(first, first.adminKey)
    const tenantKey = (await first.createTenant()).liveKey
    const tenantCookie = await sessionCookie(first, tenantKey)
    await first.parley.close()
    // startParley gives every node a new admin key: the same database, the same KEK, another admin key.
    const second = await startParley({ databaseUrl: database.url, env: { PARLEY_SIGNING_KEK: kek } })
    try {
      expectProblem(await second.call('GET', '/v1/dashboard/session', { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } }), 401, 'authentication_required')
      expect((await second.call('GET', '/v1/dashboard/session', { headers: { cookie: `${SESSION_COOKIE}=${tenantCookie}` } })).status).toBe(200)
    } finally {
      await second.close()
      await database.drop()
    }
  })
})
