import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createLimiters } from '../src/app/infrastructure.js'
import { loadConfig } from '../src/config.js'
import { redisUrl } from './helpers/databases.js'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { expectProblem } from './helpers/problems.js'
import { sleep } from './helpers/wait.js'

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
      await sleep(Number(limited.headers['retry-after']) * 1000 + 50)
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

describe('failed authentication throttling per client address', () => {
  const bad = 'sk_live_' + 'A'.repeat(38)

  it('answers 429 past the threshold, by socket address when no proxy is trusted', async () => {
    const t = await startParley({ env: { PARLEY_AUTH_FAILURES_PER_MINUTE: '5' } })
    try {
      const statuses = []
      for (let i = 0; i < 7; i++) {
        // Without a trusted proxy, X-Forwarded-For is ignored: every request is the same client.
        statuses.push((await t.call('GET', '/v1/me', { auth: bad, headers: { 'x-forwarded-for': `10.0.0.${i}` } })).status)
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429])
      const limited = await t.call('GET', '/v1/me', { auth: bad })
      expectProblem(limited, 429, 'rate_limited')
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    } finally {
      await t.close()
    }
  })

  it('checks the throttle before any credential is verified: no key lookup, no token check, whatever is sent', async () => {
    const t = await startParley({ env: { PARLEY_AUTH_FAILURES_PER_MINUTE: '3' } })
    try {
      const tenant = await t.createTenant()
      await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: 'ann' } })
      const token = (await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'ann' } })).body.token
      for (let i = 0; i < 3; i++) expect((await t.call('GET', '/v1/me', { auth: bad })).status).toBe(401)

      const { services } = t.parley
      const lookups = vi.spyOn(services.keyStore, 'findByHash')
      const keyChecks = vi.spyOn(services.verifier, 'verify')
      const tokenChecks = vi.spyOn(services.tokens, 'verify')
      try {
        const fresh = 'sk_live_' + 'B'.repeat(38) // never seen: verifying it would read storage
        for (const auth of [fresh, tenant.liveKey, token, t.adminKey]) expectProblem(await t.call('GET', '/v1/me', { auth }), 429, 'rate_limited')
        expectProblem(await t.call('GET', '/v1/me'), 429, 'rate_limited')
        expect(lookups).not.toHaveBeenCalled()
        expect(keyChecks).not.toHaveBeenCalled()
        expect(tokenChecks).not.toHaveBeenCalled()
      } finally {
        vi.restoreAllMocks()
      }
    } finally {
      await t.close()
    }
  })

  it('believes X-Forwarded-For with PARLEY_TRUST_PROXY=true', async () => {
    const t = await startParley({ env: { PARLEY_AUTH_FAILURES_PER_MINUTE: '2', PARLEY_TRUST_PROXY: 'true' } })
    try {
      const from = (ip: string) => t.call('GET', '/v1/me', { auth: bad, headers: { 'x-forwarded-for': ip } })
      expect([(await from('10.0.0.1')).status, (await from('10.0.0.1')).status, (await from('10.0.0.1')).status]).toEqual([401, 401, 429])
      expect((await from('10.0.0.2')).status).toBe(401) // another client has its own budget
    } finally {
      await t.close()
    }
  })

  it('believes only as many X-Forwarded-For hops as PARLEY_TRUST_PROXY counts', async () => {
    const t = await startParley({ env: { PARLEY_AUTH_FAILURES_PER_MINUTE: '2', PARLEY_TRUST_PROXY: '1' } })
    try {
      // One trusted proxy: the client is its last entry; whatever the client wrote before it is not believed.
      const from = (forwarded: string) => t.call('GET', '/v1/me', { auth: bad, headers: { 'x-forwarded-for': forwarded } })
      const statuses = [(await from('1.1.1.1, 10.0.0.1')).status, (await from('2.2.2.2, 10.0.0.1')).status, (await from('3.3.3.3, 10.0.0.1')).status]
      expect(statuses).toEqual([401, 401, 429])
      expect((await from('1.1.1.1, 10.0.0.2')).status).toBe(401)
    } finally {
      await t.close()
    }
  })

  it('counts IPv6 clients by /64', async () => {
    const t = await startParley({ env: { PARLEY_AUTH_FAILURES_PER_MINUTE: '2', PARLEY_TRUST_PROXY: 'true' } })
    try {
      const from = (ip: string) => t.call('GET', '/v1/me', { auth: bad, headers: { 'x-forwarded-for': ip } })
      expect([(await from('2001:db8:1:2::1')).status, (await from('2001:db8:1:2::ffff')).status]).toEqual([401, 401])
      expect((await from('2001:db8:1:2:abcd::7')).status).toBe(429)
      expect((await from('2001:db8:1:3::1')).status).toBe(401) // the next /64 is another client
    } finally {
      await t.close()
    }
  })

  it('keeps per-address counts in limiters of their own in memory, so a flood of addresses cannot evict a key’s count', async () => {
    const limiters = await createLimiters(loadConfig({ PARLEY_DATABASE_URL: 'sqlite::memory:' }), pino({ level: 'silent' }))
    try {
      expect(new Set([limiters.requests, limiters.failedAuth, limiters.addresses]).size).toBe(3)
    } finally {
      await limiters.close()
    }
  })
})

for (const limiter of LIMITERS) {
  describe(`publishable keys (${limiter.name})`, () => {
    let t: TestParley
    let tenant: TestTenant
    beforeAll(async () => {
      t = await startParley({ env: { ...limiter.env, PARLEY_TRUST_PROXY: 'true', PARLEY_PUBLISHABLE_RATE_LIMIT_PER_IP: '3/60' } })
      tenant = await t.createTenant('starter')
    })
    afterAll(() => t.close())

    async function publishable(body: Record<string, unknown> = {}) {
      const res = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'widget', type: 'publishable', ...body } })
      expect(res.status, res.text).toBe(201)
      return res.body.key as string
    }
    const visit = (key: string, ip: string) => t.call('GET', '/v1/tenant', { headers: { 'x-api-key': key, 'x-forwarded-for': ip } })

    it('limits each client address, so one client cannot spend the quota every visitor shares', async () => {
      // The key's own quota is 5 a minute; each client gets 3 of them.
      const key = await publishable({ rateLimit: { limit: 5, windowSeconds: 60 } })
      const greedy = []
      for (let i = 0; i < 10; i++) greedy.push((await visit(key, '203.0.113.1')).status)
      expect(greedy).toEqual([200, 200, 200, ...Array(7).fill(429)])
      const refused = await visit(key, '203.0.113.1')
      expectProblem(refused, 429, 'rate_limited')
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      // The greedy client's refused requests spent nothing of the key's quota: 2 of its 5 are left.
      expect([(await visit(key, '203.0.113.2')).status, (await visit(key, '203.0.113.3')).status]).toEqual([200, 200])
      expect((await visit(key, '203.0.113.4')).status).toBe(429)
    })

    it('reports the tighter of the two limits', async () => {
      const key = await publishable()
      const first = await visit(key, '198.51.100.7')
      expect(first.status).toBe(200)
      expect(first.headers['ratelimit-limit']).toBe('3')
      expect(first.headers['ratelimit-remaining']).toBe('2')
    })

    it('groups IPv6 clients by /64', async () => {
      const key = await publishable()
      const statuses = []
      for (const ip of ['2001:db8:9::1', '2001:db8:9::2', '2001:db8:9:0:ffff::3', '2001:db8:9::4']) statuses.push((await visit(key, ip)).status)
      expect(statuses).toEqual([200, 200, 200, 429])
      expect((await visit(key, '2001:db8:a::1')).status).toBe(200)
    })

    it('gives a publishable key 20 times the plan’s rate by default, a secret key the plan’s', async () => {
      const wide = await startParley({ env: { ...limiter.env, PARLEY_PUBLISHABLE_RATE_LIMIT_PER_IP: '100000/60' } })
      try {
        const free = await wide.createTenant('free')
        const key = (await wide.call('POST', '/v1/keys', { auth: free.liveKey, body: { name: 'widget', type: 'publishable' } })).body.key
        const res = await wide.call('GET', '/v1/tenant', { headers: { 'x-api-key': key } })
        expect(res.status).toBe(200)
        expect(res.headers['ratelimit-limit']).toBe('1200')
        expect((await wide.call('GET', '/v1/me', { auth: free.liveKey })).headers['ratelimit-limit']).toBe('60')
      } finally {
        await wide.close()
      }
    })

    it('checks a key’s own rateLimit against the default of its type', async () => {
      // Without the admin key, up to the default: 6,000 a minute for a publishable key on starter, 300 for a secret key.
      const rateLimit = { limit: 1000, windowSeconds: 60 }
      expect((await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'w', type: 'publishable', rateLimit } })).status).toBe(201)
      expectProblem(await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 's', type: 'secret', rateLimit } }), 403, 'forbidden')
    })
  })
}

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
