/**
 * PARLEY_REDIS_PREFIX lets deployments share one Redis. Three nodes on one PostgreSQL database and
 * one Redis: A and C share a prefix (one deployment), B has its own. What A publishes and counts
 * reaches C and never B — so with distinct prefixes nothing crosses, even for the same ids.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestDatabase, createTestDatabase, postgresUrl, redisUrl } from '../helpers/databases.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { connect, eventsOf, sleep } from '../helpers/realtime.js'
import { uniqueSuffix } from '../helpers/values.js'

describe.runIf(postgresUrl && redisUrl)('PARLEY_REDIS_PREFIX', () => {
  let database: TestDatabase
  const nodes: TestParley[] = []
  let a: TestParley
  let b: TestParley
  let c: TestParley
  /** The admin key acting on the tenant: not rate limited, so only the key under test spends its budget. */
  let admin: { auth: string; headers: Record<string, string> }
  const urls = new Map<TestParley, string>()

  beforeAll(async () => {
    database = await createTestDatabase('postgres')
    const suffix = uniqueSuffix()
    const node = async (prefix: string) => {
      const t = await startParley({
        databaseUrl: database.url,
        env: {
          PARLEY_REDIS_URL: redisUrl!,
          PARLEY_REDIS_PREFIX: prefix,
          PARLEY_SIGNING_KEK: kek,
          // A day-long window: the counts below cannot straddle a window boundary in practice.
          PARLEY_PLANS: JSON.stringify({ tiny: { rateLimit: { limit: 3, windowSeconds: 86_400 } } }),
        },
      })
      nodes.push(t)
      urls.set(t, await t.parley.app.listen({ port: 0, host: '127.0.0.1' }))
      return t
    }
    const kek = randomBytes(32).toString('base64')
    a = await node(`parley-test-${suffix}:one:`)
    b = await node(`parley-test-${suffix}:two:`)
    c = await node(`parley-test-${suffix}:one:`)
    const tenant = await a.call('POST', '/v1/admin/tenants', { auth: a.adminKey, body: { name: 'Shared Redis', plan: 'tiny' } })
    admin = { auth: a.adminKey, headers: { 'x-tenant-id': tenant.body.tenant.id, 'x-environment': 'live' } }
  })
  afterAll(async () => {
    for (const t of nodes) await t.close()
    await database?.drop()
  })

  it('relays realtime events only between nodes with the same prefix', async () => {
    for (const id of ['alice', 'bob']) expect((await a.call('POST', '/v1/users', { ...admin, body: { id } })).status).toBe(201)
    const conversation = await a.call('POST', '/v1/conversations', { ...admin, body: { type: 'direct', members: ['alice', 'bob'] } })
    const token = (await a.call('POST', '/v1/auth/token', { ...admin, body: { userId: 'bob' } })).body.token
    const onB = await connect(urls.get(b)!, token)
    const onC = await connect(urls.get(c)!, token)

    const sent = await a.call('POST', `/v1/conversations/${conversation.body.id}/messages`, { ...admin, body: { senderId: 'alice', text: 'hello' } })
    expect(sent.status).toBe(201)
    await onC.next((f) => f.type === 'event' && f.event === 'message.created')
    // Redis writes a publication to every subscriber at once: by now B would have it too.
    await sleep(200)
    expect(eventsOf(onB, 'message.created')).toEqual([])
    onB.close()
    onC.close()
  })

  it('counts rate limits per prefix', async () => {
    const created = await a.call('POST', '/v1/keys', { ...admin, body: { name: 'limited', type: 'secret' } })
    const me = (t: TestParley) => t.call('GET', '/v1/me', { auth: created.body.key }).then((r) => r.status)
    expect(await me(a)).toBe(200)
    expect(await me(a)).toBe(200)
    expect(await me(c)).toBe(200)
    expect(await me(a)).toBe(429)
    expect(await me(c)).toBe(429) // same prefix: one shared count
    expect(await me(b)).toBe(200) // another prefix: its own count
  })
})
