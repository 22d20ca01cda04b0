/**
 * Dashboard sessions on two nodes sharing PostgreSQL and Redis: a session opened on A works on B;
 * revoking its key, or signing it out, on A ends it on B within a second. B's caches live a minute
 * here, so anything B learns within a second came through Redis.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { postgresUrl, redisUrl } from '../helpers/databases.js'
import { fromDashboard, sessionCookie } from '../helpers/dashboard.js'
import { type TestParley, withTwoNodes } from '../helpers/parley.js'
import { sleep } from '../helpers/wait.js'
import { uniqueSuffix } from '../helpers/values.js'

/** Milliseconds until `check` holds, polling every 20 ms; fails after `limitMs`. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`)
    await sleep(20)
  }
  return Date.now() - started
}

describe.runIf(postgresUrl && redisUrl)('dashboard sessions on two nodes (PostgreSQL and Redis)', () => {
  const adminKey = `two_nodes_admin_${randomBytes(16).toString('hex')}`
  const env = {
    PARLEY_REDIS_URL: redisUrl!,
    PARLEY_REDIS_PREFIX: `dashboard-${uniqueSuffix()}:`,
    PARLEY_KEY_CACHE_TTL_MS: '60000',
    // One admin key and one KEK for the cluster, as in production: operator sessions are sealed with both.
    PARLEY_ADMIN_KEY: adminKey,
    PARLEY_SIGNING_KEK: randomBytes(32).toString('base64'),
  }
  const status = async (node: TestParley, cookie: string) => (await node.call('GET', '/v1/keys', { headers: fromDashboard(node, cookie) })).status

  it('a revoked key or a sign-out on one node ends the session on the other within a second', async () => {
    await withTwoNodes(async (a, b) => {
      const tenant = (await a.call('POST', '/v1/admin/tenants', { auth: adminKey, body: { name: 'Cluster', plan: 'pro' } })).body
      const key = (await a.call('POST', '/v1/keys', { auth: tenant.keys.live.key, body: { name: 'console', type: 'secret' } })).body

      const revoked = await sessionCookie(a, key.key)
      expect(await status(b, revoked)).toBe(200) // cached on B (session and key), for a minute
      await a.call('POST', `/v1/keys/${key.id}/revoke`, { auth: tenant.keys.live.key })
      expect(await within(1000, async () => (await status(b, revoked)) === 401)).toBeLessThan(1000)

      const signedOut = await sessionCookie(a, tenant.keys.live.key)
      expect(await status(b, signedOut)).toBe(200)
      expect((await a.call('DELETE', '/v1/dashboard/session', { headers: fromDashboard(a, signedOut) })).status).toBe(204)
      expect(await within(1000, async () => (await status(b, signedOut)) === 401)).toBeLessThan(1000)

      // The operator's session, opened on A, is the admin key on B too.
      const operator = await sessionCookie(a, adminKey)
      const tenants = await b.call('GET', '/v1/admin/tenants', { headers: fromDashboard(b, operator) })
      expect(tenants.status, tenants.text).toBe(200)
    }, env)
  })
})
