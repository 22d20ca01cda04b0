/**
 * Two Parley nodes on one PostgreSQL and one Redis: a key reported leaked on node A fails on node
 * B within a second (API.md §11, §9 revocation timing), B's secret-key sockets hear key.leaked, and
 * a socket B holds with the leaked key itself is closed. B's key cache lives a minute here, so
 * anything B learns within a second came through Redis, as for POST /v1/keys/{id}/revoke.
 */
import { describe, expect, it } from 'vitest'
import { postgresUrl, redisUrl } from '../helpers/databases.js'
import { TEST_CODE_HOST_KEY, leakReportEnv, reported, signedHeaders } from '../helpers/leak-reports.js'
import { type TestParley, withTwoNodes } from '../helpers/parley.js'
import { connect, eventsOf, sleep } from '../helpers/realtime.js'
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

const status = async (node: TestParley, key: string) => (await node.call('GET', '/v1/me', { auth: key })).status

describe.runIf(postgresUrl && redisUrl)('leak reports on two nodes (PostgreSQL and Redis)', () => {
  it('revokes the key on the other node within a second, and tells its sockets', async () => {
    const env = {
      ...leakReportEnv(),
      PARLEY_REDIS_URL: redisUrl!,
      PARLEY_REDIS_PREFIX: `leaks-${uniqueSuffix()}:`,
      PARLEY_KEY_CACHE_TTL_MS: '60000',
    }
    await withTwoNodes(async (a, b) => {
      const tenant = await a.createTenant()
      const leaked = (await a.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'leaky', type: 'secret' } })).body
      expect(await status(b, leaked.key)).toBe(200) // now cached on B, for a minute
      const url = await b.parley.app.listen({ port: 0, host: '127.0.0.1' })
      const listener = await connect(url, tenant.liveKey)
      const leakedSocket = await connect(url, leaked.key)

      const text = JSON.stringify([reported(leaked.key)])
      const res = await a.call('POST', '/v1/security/leaked-keys', { headers: signedHeaders(text, TEST_CODE_HOST_KEY), body: text })
      expect(res.body[0].label).toBe('true_positive')
      const elapsed = await within(1000, async () => (await status(b, leaked.key)) === 401)
      expect(elapsed).toBeLessThanOrEqual(1000)
      expect(await status(b, tenant.liveKey)).toBe(200) // the tenant's other key is untouched

      await leakedSocket.closed(1000)
      await within(1000, async () => eventsOf(listener, 'key.leaked').length === 1)
      expect(eventsOf(listener, 'key.leaked')[0].data).toEqual({ keyId: leaked.id, environment: 'live', url: reported('').url, source: 'content' })
      expect(eventsOf(listener, 'key.revoked').map((f) => f.data.id)).toEqual([leaked.id])
      listener.close()
    }, env)
  })
})
