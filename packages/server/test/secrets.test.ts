/**
 * Secrets stay secret (API.md §1.1, §8): storage holds keys only as SHA-256 (no plaintext in any
 * column of any table), and no log line carries a key, the admin key or a session token — even
 * when a client puts one in the query string, the path or a malformed header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../src/lib/crypto.js'
import { ENGINES } from './helpers/databases.js'
import { type TestParley, capturedLogs, startParley } from './helpers/parley.js'

const KEY_SHAPE = /(?:sk|pk)_(?:live|test)_[0-9A-Za-z]{38}/

/** The part of a secret that must never be stored or logged: its random body, and the whole. */
function needles(secret: string): string[] {
  const prefix = /^(?:(?:sk|pk)_(?:live|test)_|pa_)/.exec(secret)?.[0]
  return prefix ? [secret, secret.slice(prefix.length, prefix.length + 32)] : [secret]
}

for (const engine of ENGINES) {
  describe(`secrets on ${engine}`, () => {
    let t: TestParley
    let admin: string
    const secrets: string[] = []
    const keep = (secret: string) => {
      secrets.push(secret)
      return secret
    }

    beforeAll(async () => {
      // No PARLEY_ADMIN_KEY: Parley generates a pa_ key, shows it once and stores only its hash.
      t = await startParley({ engine, env: { PARLEY_ADMIN_KEY: '' } })
      admin = keep(t.parley.adminKey.generated!)
      expect(admin).toMatch(/^pa_[0-9A-Za-z]{38}$/)
      const ok = async (status: number, promise: ReturnType<TestParley['call']>) => {
        const res = await promise
        if (res.status !== status) throw new Error(`expected ${status}, got ${res.status} ${res.text}`)
        return res.body
      }

      // Operator calls.
      const created = await ok(201, t.call('POST', '/v1/admin/tenants', { auth: admin, body: { name: 'Secretive', plan: 'pro' } }))
      const tenantId: string = created.tenant.id
      const live = keep(created.keys.live.key)
      keep(created.keys.test.key)
      await ok(200, t.call('PATCH', `/v1/admin/tenants/${tenantId}`, { auth: admin, body: { name: 'Renamed' } }))
      await ok(200, t.call('GET', '/v1/admin/tenants', { auth: admin }))
      const actingAs = { 'x-tenant-id': tenantId, 'x-environment': 'test' }
      keep((await ok(201, t.call('POST', '/v1/keys', { auth: admin, headers: actingAs, body: { name: 'by admin', type: 'secret' } }))).key)

      // Key lifecycle.
      const secret = await ok(201, t.call('POST', '/v1/keys', { auth: live, body: { name: 's', type: 'secret', scopes: ['keys:read'] } }))
      keep(secret.key)
      keep((await ok(201, t.call('POST', '/v1/keys', { auth: live, body: { name: 'p', type: 'publishable' } }))).key)
      keep((await ok(201, t.call('POST', `/v1/keys/${secret.id}/roll`, { auth: live, body: { expiresInSeconds: 3600 } }))).key)
      const toRevoke = await ok(201, t.call('POST', '/v1/keys', { auth: live, body: { name: 'r', type: 'secret' } }))
      keep(toRevoke.key)
      keep((await ok(201, t.call('POST', `/v1/keys/${toRevoke.id}/roll`, { auth: live }))).key)
      await ok(200, t.call('POST', `/v1/keys/${toRevoke.id}/revoke`, { auth: live }))

      // A session token is a secret too.
      await ok(201, t.call('POST', '/v1/users', { auth: live, body: { id: 'alice' } }))
      keep((await ok(201, t.call('POST', '/v1/auth/token', { auth: live, body: { userId: 'alice' } }))).token)

      // Secrets where they do not belong: query string, path, malformed and conflicting headers.
      const misuse: [string, Record<string, string>][] = [
        [`/v1/me?api_key=${live}`, {}],
        [`/v1/admin/tenants?key=${admin}&token=${secrets.at(-1)}`, {}],
        [`/v1/keys/${live}`, {}],
        [`/nowhere/${admin}`, {}],
        ['/v1/me', { authorization: `Token ${live}` }],
        ['/v1/me', { authorization: `Bearer ${live} ${admin}` }],
        ['/v1/me', { 'x-api-key': live, authorization: `Bearer ${admin}` }],
        ['/v1/me', { 'x-api-key': `${live.slice(0, -1)}${live.endsWith('A') ? 'B' : 'A'}` }], // bad checksum, real body
        ['/v1/me', { 'x-request-id': live }], // shaped like a sane request id
      ]
      for (const [url, headers] of misuse) {
        const res = await t.call('GET', url, { headers })
        expect(res.status, url).toBeGreaterThanOrEqual(400)
      }
      // Code that logs request details must not leak them either: the redaction sits on the stream.
      t.parley.logger.warn({ url: `/v1/me?api_key=${live}`, headers: { authorization: `Bearer ${admin}`, 'x-api-key': live }, token: secrets.at(-1) }, `saw ${live}`)
      await t.parley.flush()
    })
    afterAll(() => t.close())

    it('created the secrets this suite looks for', () => {
      expect(secrets.filter((s) => KEY_SHAPE.test(s))).toHaveLength(8)
      expect(secrets.some((s) => s.startsWith('eyJ'))).toBe(true)
    })

    it('no column of any table holds a plaintext key, the admin key or a token', async () => {
      const db = t.parley.store.db
      const tables = await db.introspection.getTables({ withInternalKyselyTables: true })
      expect(tables.map((table) => table.name)).toContain('api_keys')
      let cells = 0
      for (const table of tables) {
        const rows = await db.selectFrom(table.name as never).selectAll().execute()
        for (const row of rows as Record<string, unknown>[]) {
          for (const [column, value] of Object.entries(row)) {
            if (typeof value !== 'string' && !Buffer.isBuffer(value)) continue
            const text = String(value)
            cells++
            for (const secret of secrets) {
              for (const needle of needles(secret)) expect(text.includes(needle), `${table.name}.${column} holds a secret`).toBe(false)
            }
            expect(KEY_SHAPE.test(text), `${table.name}.${column} holds something shaped like a key`).toBe(false)
          }
        }
      }
      expect(cells).toBeGreaterThan(50)
    })

    it('keys and the admin key are stored as their SHA-256', async () => {
      const db = t.parley.store.db
      const hashes = (await db.selectFrom('api_keys').select('key_hash').execute()).map((r) => r.key_hash)
      for (const secret of secrets.filter((s) => KEY_SHAPE.test(s))) expect(hashes).toContain(sha256Hex(secret))
      const meta = await db.selectFrom('meta').selectAll().execute()
      expect(meta.map((r) => r.value)).toContain(sha256Hex(admin))
    })

    it('no log line carries any of them', () => {
      const logs = capturedLogs.join('')
      expect(logs).toContain('[REDACTED]') // the misuse above was logged, and scrubbed
      for (const secret of secrets) {
        for (const needle of needles(secret)) expect(logs.includes(needle), `a log line holds ${secret.slice(0, 8)}…`).toBe(false)
      }
      expect(KEY_SHAPE.test(logs)).toBe(false)
    })
  })
}

describe('a configured admin key (any string, no recognisable prefix)', () => {
  let t: TestParley
  beforeAll(async () => {
    t = await startParley()
  })
  afterAll(() => t.close())

  it('is neither stored nor logged', async () => {
    expect(t.adminKey).not.toMatch(/^pa_/)
    expect((await t.call('GET', `/v1/admin/tenants?admin_key=${t.adminKey}`)).status).toBe(401)
    expect((await t.call('GET', '/v1/admin/tenants', { headers: { authorization: `Token ${t.adminKey}` } })).status).toBe(400)
    t.parley.logger.info({ header: `Bearer ${t.adminKey}` }, `configured ${t.adminKey}`)
    expect(capturedLogs.join('')).not.toContain(t.adminKey)
    expect(capturedLogs.join('')).toContain('configured [REDACTED]')
    const meta = await t.parley.store.db.selectFrom('meta').selectAll().execute()
    expect(JSON.stringify(meta)).not.toContain(t.adminKey)
  })
})
