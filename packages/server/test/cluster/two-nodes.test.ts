/**
 * Two Parley processes on one PostgreSQL and one Redis: what happens on node A is seen on node B —
 * messages reach B's sockets, and revocations take effect on B within a second.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestDatabase, createTestDatabase, postgresUrl, redisUrl } from '../helpers/databases.js'
import { type ParleyProcess, startProcess } from '../helpers/processes.js'
import { openSocket } from '../helpers/sockets.js'
import { sleep } from '../helpers/wait.js'

// Needs PostgreSQL and Redis; CI sets both and requires them (helpers/databases.ts).
describe.runIf(postgresUrl && redisUrl)('two nodes on PostgreSQL and Redis', () => {
  let database: TestDatabase
  let a: ParleyProcess
  let b: ParleyProcess
  const adminKey = randomBytes(24).toString('hex')

  beforeAll(async () => {
    database = await createTestDatabase('postgres')
    const env = {
      PARLEY_DATABASE_URL: database.url,
      PARLEY_REDIS_URL: redisUrl!,
      PARLEY_ADMIN_KEY: adminKey,
      PARLEY_SIGNING_KEK: randomBytes(32).toString('base64'),
      PARLEY_PUBLIC_URL: 'http://parley.cluster.test',
      // A long cache TTL: anything B learns within a second came through Redis, not expiry.
      PARLEY_KEY_CACHE_TTL_MS: '60000',
    }
    a = await startProcess(env)
    b = await startProcess(env)
  })
  afterAll(async () => {
    await a?.stop()
    await b?.stop()
    await database?.drop()
  })

  async function call(node: ParleyProcess, method: string, path: string, auth: string, body?: unknown) {
    const res = await fetch(node.url + path, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any }
  }

  async function setUp() {
    const tenant = (await call(a, 'POST', '/v1/admin/tenants', adminKey, { name: 'Cluster', plan: 'pro' })).body
    const key = tenant.keys.live.key as string
    const tokens: Record<string, string> = {}
    for (const id of ['ann', 'bob']) {
      await call(a, 'POST', '/v1/users', key, { id })
      tokens[id] = (await call(a, 'POST', '/v1/auth/token', key, { userId: id })).body.token
    }
    return { key, tokens }
  }

  /** Milliseconds until `check` holds, polling every 20 ms, or fails after `limitMs`. */
  async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
    const started = Date.now()
    while (!(await check())) {
      if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`)
      await sleep(20)
    }
    return Date.now() - started
  }

  it('delivers a message posted on node A to a socket on node B', async () => {
    const { tokens } = await setUp()
    const conversation = (await call(a, 'POST', '/v1/conversations', tokens.ann!, { type: 'direct', members: ['bob'] })).body
    const bob = await openSocket(b.url, { authorization: `Bearer ${tokens.bob}` })
    await bob.next((f) => f.type === 'ready')
    await call(a, 'POST', `/v1/conversations/${conversation.id}/messages`, tokens.ann!, { text: 'across nodes' })
    const event = await bob.next((f) => f.event === 'message.created')
    expect(event.data).toMatchObject({ text: 'across nodes', seq: 1, senderId: 'ann' })
    bob.close()
  })

  it('rejects a key revoked on node A on node B within one second', async () => {
    const { key } = await setUp()
    const extra = (await call(a, 'POST', '/v1/keys', key, { name: 'to revoke', type: 'secret' })).body
    expect((await call(b, 'GET', '/v1/me', extra.key)).status).toBe(200) // now cached on B
    expect((await call(a, 'POST', `/v1/keys/${extra.id}/revoke`, key)).status).toBe(200)
    const elapsed = await within(1000, async () => (await call(b, 'GET', '/v1/me', extra.key)).status === 401)
    expect(elapsed).toBeLessThanOrEqual(1000)
    expect((await call(b, 'GET', '/v1/me', key)).status).toBe(200) // the tenant's other key is untouched
  })

  it('closes a socket on node B when the user’s tokens are revoked on node A', async () => {
    const { key, tokens } = await setUp()
    const bob = await openSocket(b.url, { authorization: `Bearer ${tokens.bob}` })
    await bob.next((f) => f.type === 'ready')
    expect((await call(a, 'POST', '/v1/users/bob/revoke-tokens', key)).status).toBe(204)
    expect(await bob.closed(1000)).toBe(4003)
    expect((await call(b, 'GET', '/v1/identity/me', tokens.bob!)).status).toBe(401)
  })

  it('serves /v1/identity/me on node B from the profile as changed on node A, within one second', async () => {
    const { key, tokens } = await setUp()
    const pk = (await call(a, 'POST', '/v1/keys', key, { name: 'widget', type: 'publishable' })).body.key as string
    const init = async (body: Record<string, unknown>) => {
      const res = await fetch(`${a.url}/v1/identity/init`, { method: 'POST', headers: { 'x-api-key': pk, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return (await res.json()) as any
    }
    const nameOnB = async (token: string) => (await call(b, 'GET', '/v1/identity/me', token)).body.user.displayName
    const opened = await init({ visitorId: 'cluster-device', profile: { name: 'Vera' } })
    expect(await nameOnB(opened.sessionToken)).toBe('Vera') // now cached on B

    // A returning device changes nothing, so there is nothing for B to miss (§12).
    const again = await init({ visitorId: 'cluster-device', profile: { name: 'Mallory' } })
    expect(again.visitor.id).toBe(opened.visitor.id)
    expect((await call(b, 'GET', `/v1/users/${opened.visitor.id}`, key)).body.displayName).toBe('Vera')
    expect(await nameOnB(again.sessionToken)).toBe('Vera')

    // Every change goes through UserService, which tells the other nodes.
    expect((await call(a, 'PATCH', `/v1/users/${opened.visitor.id}`, key, { displayName: 'Vera B.' })).status).toBe(200)
    expect(await within(1000, async () => (await nameOnB(opened.sessionToken)) === 'Vera B.')).toBeLessThanOrEqual(1000)
    expect(await nameOnB(tokens.ann!)).toBeNull() // cached on B
    expect((await call(a, 'POST', '/v1/users', key, { id: 'ann', displayName: 'Ann' })).status).toBe(200)
    expect(await within(1000, async () => (await nameOnB(tokens.ann!)) === 'Ann')).toBeLessThanOrEqual(1000)
  })

  it('shares rate limits between the nodes', async () => {
    const { key } = await setUp()
    const limited = (await call(a, 'POST', '/v1/keys', key, { name: 'limited', type: 'secret', rateLimit: { limit: 10, windowSeconds: 60 } })).body.key
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(i % 2 ? a : b, 'GET', '/v1/me', limited).then((r) => r.status)),
    )
    expect(statuses.filter((s) => s === 200)).toHaveLength(10)
    expect(statuses.filter((s) => s === 429)).toHaveLength(10)
  })
})
