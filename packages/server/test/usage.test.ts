import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES } from './helpers/databases.js'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'

for (const engine of ENGINES) {
  describe(`usage statistics on ${engine}`, () => {
    let t: TestParley
    let tenant: TestTenant
    beforeAll(async () => {
      t = await startParley({ engine })
      tenant = await t.createTenant()
    })
    afterAll(() => t.close())

    it('counts every authenticated request of a key by outcome, and nothing for failed authentication', async () => {
      for (let i = 0; i < 7; i++) expect((await t.call('GET', '/v1/me', { auth: tenant.liveKey })).status).toBe(200)
      for (let i = 0; i < 3; i++) expect((await t.call('GET', '/v1/keys/key_missing', { auth: tenant.liveKey })).status).toBe(404)
      // Failed authentication is never counted against a key (forged and unknown keys).
      await t.call('GET', '/v1/me', { auth: tenant.liveKey.slice(0, -1) + (tenant.liveKey.endsWith('A') ? 'B' : 'A') })
      const res = await t.call('GET', `/v1/keys/${tenant.liveKeyId}/usage`, { auth: tenant.testKey })
      expect(res.status).toBe(404) // the live key does not exist in the test environment

      const usage = await t.call('GET', `/v1/keys/${tenant.liveKeyId}/usage?granularity=hour`, { auth: tenant.liveKey })
      expect(usage.status).toBe(200)
      // 7 successes + 3 not-found; the usage request itself is counted when it completes.
      expect(usage.body.totals).toMatchObject({ requests: 10, success: 7, clientErrors: 3, serverErrors: 0, rateLimited: 0 })
      expect(usage.body.series).toHaveLength(1)
      expect(usage.body.lastUsedAt).not.toBeNull()

      const again = await t.call('GET', `/v1/keys/${tenant.liveKeyId}/usage?granularity=day`, { auth: tenant.liveKey })
      expect(again.body.totals.requests).toBe(11)
    })

    it('sums the environment and lists per-key totals', async () => {
      const res = await t.call('GET', '/v1/usage', { auth: tenant.liveKey })
      expect(res.status).toBe(200)
      const own = res.body.keys.find((k: { keyId: string }) => k.keyId === tenant.liveKeyId)
      expect(own.requests).toBe(res.body.totals.requests)
      expect(res.body.keys.some((k: { keyId: string }) => k.keyId === tenant.testKeyId)).toBe(false)
    })

    it('rejects a window that ends before it starts', async () => {
      const res = await t.call('GET', '/v1/usage?from=2026-01-02T00:00:00.000Z&to=2026-01-01T00:00:00.000Z', { auth: tenant.liveKey })
      expect(res.status).toBe(400)
      expect(res.body.code).toBe('validation_failed')
    })
  })
}

describe('usage across a graceful restart', () => {
  it('flushes counters on shutdown, so totals survive the restart exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-usage-'))
    const databaseUrl = `sqlite:${join(dir, 'parley.db')}`
    // A long flush interval: only the shutdown flush can have written the counts.
    const env = { PARLEY_FLUSH_INTERVAL_MS: '60000', PARLEY_SIGNING_KEK: randomBytes(32).toString('base64') }
    const first = await startParley({ databaseUrl, env })
    const tenant = await first.createTenant()
    for (let i = 0; i < 25; i++) await first.call('GET', '/v1/me', { auth: tenant.liveKey })
    await first.close()

    const second = await startParley({ databaseUrl, env })
    try {
      const usage = await second.call('GET', `/v1/keys/${tenant.liveKeyId}/usage`, { auth: tenant.liveKey })
      expect(usage.body.totals.requests).toBe(25)
    } finally {
      await second.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
