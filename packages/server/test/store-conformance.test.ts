/**
 * One storage suite, every engine (ARCHITECTURE.md practice 2): the exact migrations, what Parley
 * reads back through the API, and each store's contract (store-conformance/*.ts) — round trips,
 * paging, updates and deletes, tenant and environment isolation, unique violations — on SQLite and,
 * when PARLEY_TEST_DATABASE_URL is set, on PostgreSQL (a database of its own per store). With
 * PARLEY_TEST_REQUIRE_SERVICES=1 an unreachable PostgreSQL fails the run instead of skipping it.
 */
import { type AddressInfo, type Socket, connect, createServer } from 'node:net'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../src/auth/key-format.js'
import { KeyStore } from '../src/keys/store.js'
import { sha256Hex } from '../src/lib/crypto.js'
import { openStore as openStorage } from '../src/storage/database.js'
import { migrate } from '../src/storage/migrate.js'
import { ENGINES, type TestDatabase, createDurableDatabase, createTestDatabase, servicesRequired } from './helpers/databases.js'
import { describeEachEngine, storageOf } from './helpers/engines.js'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { alertStoreConformance } from './store-conformance/alerts.js'
import { conversationStoreConformance } from './store-conformance/conversations.js'
import { isoAt, keyRecord } from './store-conformance/fixtures.js'
import { keyStoreConformance } from './store-conformance/keys.js'
import { messageStoreConformance } from './store-conformance/messages.js'
import { tenantStoreConformance } from './store-conformance/tenants.js'
import { usageStoreConformance } from './store-conformance/usage.js'
import { userStoreConformance } from './store-conformance/users.js'

/** Every migration, in the order it runs: a new one is added here on purpose. */
const MIGRATIONS = [
  '001-foundation',
  '002-users-and-signing-keys',
  '003-chat',
  '004-usage-and-alerts',
  '005-history-revision',
  '006-members-by-user-covering',
  '007-message-indexes-that-append',
  '008-event-content-and-consumers',
  '009-webhooks-and-deliveries',
  '010-leak-reports',
  '011-push',
  '012-dashboard-sessions',
]

// The flusher runs only when a test calls flush(), so "not yet written" is observable.
const env = { PARLEY_FLUSH_INTERVAL_MS: '60000' }

// Locally without PARLEY_TEST_DATABASE_URL only SQLite runs; CI sets PARLEY_TEST_REQUIRE_SERVICES=1,
// where a missing PostgreSQL fails here (and in helpers/databases.ts) instead of being skipped.
it.runIf(servicesRequired)('covers PostgreSQL when services are required', () => {
  expect(ENGINES).toContain('postgres')
})

describeEachEngine('storage conformance', (engine, openStore) => {
  describe('TenantStore', () => tenantStoreConformance(openStore))
  describe('KeyStore', () => keyStoreConformance(openStore))
  describe('UserStore', () => userStoreConformance(openStore))
  describe('ConversationStore', () => conversationStoreConformance(openStore))
  describe('MessageStore', () => messageStoreConformance(openStore))
  describe('UsageStore', () => usageStoreConformance(openStore))
  describe('AlertStore', () => alertStoreConformance(openStore))

  describe('a database migrated, then served by Parley', () => {
    let database: TestDatabase
    let t: TestParley
    let tenant: TestTenant
    let applied: string[]
    let again: string[]
    let recorded: string[]

    beforeAll(async () => {
      database = await createDurableDatabase(engine)
      const store = await openStorage(storageOf(database.url))
      try {
        applied = await migrate(store)
        again = await migrate(store)
        const { rows } = await sql<{ name: string }>`select name from kysely_migration order by timestamp, name`.execute(store.db)
        recorded = rows.map((row) => row.name)
      } finally {
        await store.close()
      }
      // Parley migrates again at start: a third run on an up-to-date database.
      t = await startParley({ databaseUrl: database.url, env })
      tenant = await t.createTenant()
    })
    afterAll(async () => {
      await t?.close()
      await database?.drop()
    })

    it('applies exactly the known migrations, in order, once', async () => {
      expect(applied).toEqual(MIGRATIONS)
      expect(recorded).toEqual(MIGRATIONS)
      expect(again).toEqual([])
      const tables = (await t.parley.store.db.introspection.getTables()).map((table) => table.name)
      for (const name of ['meta', 'tenants', 'api_keys', 'users', 'conversations', 'members', 'messages', 'events']) expect(tables).toContain(name)
    })

    it('round-trips a tenant and its keys through the API', async () => {
      const admin = { auth: t.adminKey }
      const patched = await t.call('PATCH', `/v1/admin/tenants/${tenant.id}`, {
        ...admin,
        body: { name: 'Ünïcödé “quoted” 🚀', rateLimit: { limit: 500, windowSeconds: 60 }, suspended: true },
      })
      expect(patched.body).toMatchObject({ name: 'Ünïcödé “quoted” 🚀', rateLimit: { limit: 500, windowSeconds: 60 }, suspended: true })
      const got = await t.call('GET', `/v1/admin/tenants/${tenant.id}`, admin)
      expect(got.body).toEqual(patched.body)
      await t.call('PATCH', `/v1/admin/tenants/${tenant.id}`, { ...admin, body: { suspended: false } })
      expect((await t.call('GET', `/v1/admin/tenants/${tenant.id}`, admin)).body.suspended).toBe(false)

      const metadata = { nested: { list: [1, 'two', null, true] }, emoji: '🔑', quote: "it's \"fine\"" }
      const secret = await t.call('POST', '/v1/keys', {
        auth: tenant.liveKey,
        body: { name: 'round trip', type: 'secret', scopes: ['keys:*', 'users:read'], metadata, rateLimit: { limit: 5, windowSeconds: 1 }, expiresAt: '2099-12-31T23:59:59.999Z' },
      })
      expect(secret.status).toBe(201)
      const { key: plaintext, ...view } = secret.body
      expect((await t.call('GET', `/v1/keys/${view.id}`, { auth: tenant.liveKey })).body).toEqual({ ...view, leakReports: [] })
      expect((await t.call('GET', '/v1/me', { auth: plaintext })).body.key.scopes).toEqual(['keys:*', 'users:read'])

      const publishable = await t.call('POST', '/v1/keys', {
        auth: tenant.liveKey,
        body: { name: 'widget', type: 'publishable', allowedOrigins: ['https://a.example', 'http://localhost:5173'] },
      })
      const fetched = await t.call('GET', `/v1/keys/${publishable.body.id}`, { auth: tenant.liveKey })
      expect(fetched.body.allowedOrigins).toEqual(['https://a.example', 'http://localhost:5173'])

      const revoked = await t.call('POST', `/v1/keys/${view.id}/revoke`, { auth: tenant.liveKey })
      expect(revoked.body.status).toBe('revoked')
      expect((await t.call('GET', '/v1/me', { auth: plaintext })).status).toBe(401)
    })

    it('finds a key by the SHA-256 of its plaintext, and nothing for an unknown hash', async () => {
      const keys = new KeyStore(t.parley.store.db)
      const found = await keys.findByHash(sha256Hex(tenant.testKey))
      expect(found).toMatchObject({ id: tenant.testKeyId, tenantId: tenant.id, environment: 'test', type: 'secret', scopes: [] })
      expect(await keys.findByHash(sha256Hex(generateKey('sk_test_')))).toBeNull()
      expect(await keys.findByHash(tenant.testKey)).toBeNull() // the plaintext is never a lookup key
    })

    it('pages keys through the API newest first without gaps or repeats, even when createdAt ties', async () => {
      const own = await t.createTenant()
      const keys = new KeyStore(t.parley.store.db)
      // Five keys in the same millisecond (in 2030: the newest): only the id breaks the tie.
      const tied = isoAt(0)
      for (let i = 0; i < 5; i++) await keys.insert(keyRecord({ tenantId: own.id, environment: 'live' }, { createdAt: tied, updatedAt: tied }))
      for (let i = 0; i < 3; i++) await t.call('POST', '/v1/keys', { auth: own.liveKey, body: { name: `k${i}`, type: 'secret' } })

      const full = await t.call('GET', '/v1/keys', { auth: own.liveKey })
      expect(full.body.data).toHaveLength(9)
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const res: { body: { data: { id: string }[]; nextCursor: string | null } } = await t.call(
          'GET',
          `/v1/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          { auth: own.liveKey },
        )
        seen.push(...res.body.data.map((k) => k.id))
        cursor = res.body.nextCursor
      } while (cursor)
      expect(seen).toEqual(full.body.data.map((k: { id: string }) => k.id))
      expect(new Set(seen).size).toBe(9)
      const times = full.body.data.map((k: { createdAt: string }) => k.createdAt)
      expect(times).toEqual([...times].sort().reverse())
      expect(times.slice(0, 5)).toEqual(Array(5).fill(tied))
    })

    it('writes lastUsedAt in one batch on flush, and another node reads it from storage', async () => {
      const own = await t.createTenant()
      const lastUsedInStorage = async (id: string) =>
        (await t.parley.store.db.selectFrom('api_keys').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow()).last_used_at

      const before = Date.now()
      expect((await t.call('GET', '/v1/me', { auth: own.liveKey })).status).toBe(200)
      expect((await t.call('GET', '/v1/me', { auth: own.testKey })).status).toBe(200)
      expect(await lastUsedInStorage(own.liveKeyId)).toBeNull()
      expect(await lastUsedInStorage(own.testKeyId)).toBeNull()

      await t.parley.flush()
      const live = await lastUsedInStorage(own.liveKeyId)
      const test = await lastUsedInStorage(own.testKeyId)
      expect(live).toMatch(/Z$/)
      expect(Date.parse(live!)).toBeGreaterThanOrEqual(before - 5)
      expect(Date.parse(test!)).toBeGreaterThanOrEqual(before - 5)

      const shown = await t.call('GET', `/v1/keys/${own.liveKeyId}`, { auth: own.liveKey })
      expect(Date.parse(shown.body.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(live!))

      // A second node on the same database knows the use only through storage.
      const other = await startParley({ databaseUrl: database.url, env })
      try {
        const headers = { 'x-tenant-id': own.id, 'x-environment': 'test' }
        const seen = await other.call('GET', `/v1/keys/${own.testKeyId}`, { auth: other.adminKey, headers })
        expect(seen.status).toBe(200)
        expect(seen.body.lastUsedAt).toBe(test)
      } finally {
        await other.close()
      }
    })
  })
})

// Only PostgreSQL has a connection to lose (SQLite is in-process); CI always runs it.
describe.runIf(ENGINES.includes('postgres'))('PostgreSQL going away', () => {
  /** A TCP proxy in front of PostgreSQL that the test can cut and restore. */
  async function proxyTo(target: URL) {
    const [host, targetPort] = [target.hostname, Number(target.port || 5432)]
    const sockets = new Set<Socket>()
    const server = createServer((client) => {
      const upstream = connect(targetPort, host)
      for (const socket of [client, upstream]) {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
        socket.on('error', () => socket.destroy())
      }
      client.pipe(upstream).pipe(client)
    })
    const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    await listen(0)
    const port = (server.address() as AddressInfo).port
    return {
      port,
      cut: async () => {
        const closed = new Promise((resolve) => server.close(resolve))
        for (const socket of sockets) socket.destroy()
        await closed
      },
      restore: () => listen(port),
    }
  }

  it('answers 503 unavailable (and /readyz 503) while it is unreachable, and recovers', async () => {
    const database = await createTestDatabase('postgres')
    const url = new URL(database.url)
    const proxy = await proxyTo(url)
    url.hostname = '127.0.0.1'
    url.port = String(proxy.port)
    const t = await startParley({ databaseUrl: url.toString() })
    try {
      const tenant = await t.createTenant()
      expect((await t.call('GET', '/v1/keys', { auth: tenant.liveKey })).status).toBe(200)

      await proxy.cut()
      const down = await t.call('GET', '/v1/keys', { auth: tenant.liveKey })
      expect(down.status, down.text).toBe(503)
      expect(down.body.code).toBe('unavailable')
      expect(down.text).not.toMatch(/ECONN|127\.0\.0\.1|postgres/i)
      expect((await t.call('GET', '/readyz')).status).toBe(503)
      expect((await t.call('GET', '/healthz')).status).toBe(200)

      await proxy.restore()
      expect((await t.call('GET', '/readyz')).status).toBe(200)
      expect((await t.call('GET', '/v1/keys', { auth: tenant.liveKey })).status).toBe(200)
    } finally {
      await t.parley.close()
      await proxy.cut()
      await database.drop()
    }
  })
})
