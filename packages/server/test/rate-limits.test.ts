import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisUrl } from './helpers/databases.js'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'

const LIMITERS = [
  { name: 'memory', env: {} as Record<string, string> },
  ...(redisUrl ? [{ name: 'redis', env: { PARLEY_REDIS_URL: redisUrl } }] : []),
]

for (const limiter of LIMITERS) {
  describe(`per-key rate limits (${limiter.name})`, () => {
    let t: TestParley
    let tenant: TestTenant
    beforeAll(async () => {
      t = await startParley({ env: limiter.env })
      tenant = await t.createTenant()
    })
    afterAll(() => t.close())

    async function keyWithLimit(limit: number, windowSeconds = 60) {
      const res = await t.call('POST', '/v1/keys', {
        auth: tenant.liveKey,
        body: { name: `limited ${limit}`, type: 'secret', rateLimit: { limit, windowSeconds } },
      })
      expect(res.status).toBe(201)
      return res.body.key as string
    }

    it('lets exactly N of 2×N concurrent requests through', async () => {
      const key = await keyWithLimit(40)
      const results = await Promise.all(Array.from({ length: 80 }, () => t.call('GET', '/v1/me', { auth: key })))
      const statuses = results.map((r) => r.status)
      expect(statuses.filter((s) => s === 200)).toHaveLength(40)
      expect(statuses.filter((s) => s === 429)).toHaveLength(40)
      const limited = results.find((r) => r.status === 429)!
      expect(limited.body.code).toBe('rate_limited')
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    })

    it('reports the limit and a decreasing remaining count on every response', async () => {
      const key = await keyWithLimit(5)
      const remaining: number[] = []
      for (let i = 0; i < 5; i++) {
        const res = await t.call('GET', '/v1/me', { auth: key })
        expect(res.headers['ratelimit-limit']).toBe('5')
        expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1)
        remaining.push(Number(res.headers['ratelimit-remaining']))
      }
      expect(remaining).toEqual([4, 3, 2, 1, 0])
      expect((await t.call('GET', '/v1/me', { auth: key })).status).toBe(429)
    })

    it('honours the reset: a new window admits requests again', async () => {
      const key = await keyWithLimit(2, 1)
      await t.call('GET', '/v1/me', { auth: key })
      await t.call('GET', '/v1/me', { auth: key })
      const limited = await t.call('GET', '/v1/me', { auth: key })
      expect(limited.status).toBe(429)
      await new Promise((resolve) => setTimeout(resolve, Number(limited.headers['retry-after']) * 1000 + 50))
      expect((await t.call('GET', '/v1/me', { auth: key })).status).toBe(200)
    })

    it('leaves other keys unaffected, and forged keys never touch the real key’s budget', async () => {
      const limited = await keyWithLimit(3)
      for (let i = 0; i < 4; i++) await t.call('GET', '/v1/me', { auth: limited })
      expect((await t.call('GET', '/v1/me', { auth: limited })).status).toBe(429)
      expect((await t.call('GET', '/v1/me', { auth: tenant.liveKey })).status).toBe(200)

      const fresh = await keyWithLimit(3)
      const forged = fresh.slice(0, 20) + (fresh[20] === 'a' ? 'b' : 'a') + fresh.slice(21)
      for (let i = 0; i < 10; i++) expect((await t.call('GET', '/v1/me', { auth: forged })).status).toBe(401)
      const first = await t.call('GET', '/v1/me', { auth: fresh })
      expect(first.status).toBe(200)
      expect(first.headers['ratelimit-remaining']).toBe('2')
    })
  })
}

describe('failed authentication throttling per client IP', () => {
  it('answers 429 past the threshold, without a trusted proxy by socket address', async () => {
    const t = await startParley({ env: { PARLEY_AUTH_FAILURES_PER_MINUTE: '5' } })
    try {
      const bad = 'sk_live_' + 'A'.repeat(38)
      const statuses = []
      for (let i = 0; i < 7; i++) {
        // Without a trusted proxy, X-Forwarded-For is ignored: every request is the same client.
        statuses.push((await t.call('GET', '/v1/me', { auth: bad, headers: { 'x-forwarded-for': `10.0.0.${i}` } })).status)
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429])
      const tenant = await t.createTenant() // the admin key still works: valid credentials pass
      expect((await t.call('GET', '/v1/me', { auth: tenant.liveKey })).status).toBe(200)
    } finally {
      await t.close()
    }
  })

  it('believes X-Forwarded-For with PARLEY_TRUST_PROXY=true', async () => {
    const t = await startParley({ env: { PARLEY_AUTH_FAILURES_PER_MINUTE: '2', PARLEY_TRUST_PROXY: 'true' } })
    try {
      const bad = 'sk_live_' + 'A'.repeat(38)
      const from = (ip: string) => t.call('GET', '/v1/me', { auth: bad, headers: { 'x-forwarded-for': ip } })
      expect([(await from('10.0.0.1')).status, (await from('10.0.0.1')).status, (await from('10.0.0.1')).status]).toEqual([401, 401, 429])
      expect((await from('10.0.0.2')).status).toBe(401) // another client has its own budget
    } finally {
      await t.close()
    }
  })
})

describe('per-user limits for session tokens', () => {
  it('limits requests and message sends per user', async () => {
    const t = await startParley({ env: { PARLEY_USER_RATE_LIMIT: '1000/60', PARLEY_USER_MESSAGE_RATE_LIMIT: '3/60' } })
    try {
      const tenant = await t.createTenant()
      await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: 'ann' } })
      const token = (await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'ann' } })).body.token
      const conversation = await t.call('POST', '/v1/conversations', { auth: token, body: { type: 'group', members: [] } })
      const sends = []
      for (let i = 0; i < 4; i++) sends.push((await t.call('POST', `/v1/conversations/${conversation.body.id}/messages`, { auth: token, body: { text: `m${i}` } })).status)
      expect(sends).toEqual([201, 201, 201, 429])
      const me = await t.call('GET', '/v1/identity/me', { auth: token })
      expect(me.status).toBe(200)
      expect(me.headers['ratelimit-limit']).toBe('1000')
    } finally {
      await t.close()
    }
  })
})
