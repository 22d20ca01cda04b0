/**
 * Signing in to the dashboard is an authentication like any other (API.md §1.5): each refused key
 * counts towards the per-address throttle, and an address at its threshold is refused with 429
 * before any key it sends is looked at, a valid one included, on sign-in and everywhere else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signIn } from '../helpers/dashboard.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { expectProblem } from '../helpers/problems.js'

const LIMIT = 4

describe('failed dashboard sign-ins', () => {
  let t: TestParley
  let publishable: string
  let token: string

  beforeAll(async () => {
    t = await startParley({ env: { PARLEY_AUTH_FAILURES_PER_MINUTE: String(LIMIT) } })
    const tenant = await t.createTenant()
    publishable = (await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'web', type: 'publishable' } })).body.key
    await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: 'alice' } })
    token = (await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'alice' } })).body.token
  })
  afterAll(() => t.close())

  it('count like failed authentications: 401 up to the limit, then 429 even for the right key', async () => {
    const wrong = [publishable, token, `${t.adminKey}-wrong`, 'sk_test_nothing']
    expect(wrong).toHaveLength(LIMIT)
    for (const key of wrong) expectProblem((await signIn(t, key)).res, 401, 'invalid_api_key')

    const blocked = await signIn(t, t.adminKey)
    expectProblem(blocked.res, 429, 'rate_limited')
    expect(Number(blocked.res.headers['retry-after'])).toBeGreaterThan(0)
    expect(blocked.setCookie).toBeNull()
    // The same address is refused everywhere, before its credential is read.
    expectProblem(await t.call('GET', '/v1/admin/tenants', { auth: t.adminKey }), 429, 'rate_limited')
  })
})
