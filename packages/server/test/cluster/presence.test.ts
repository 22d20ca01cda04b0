/**
 * Presence (cluster/presence.ts): who has an open socket. The memory registry for one node; the
 * Redis one across nodes, against a live Redis: another node's users seen, a node that dies
 * forgotten after its TTL, a hash lost from Redis written again, an unreachable Redis answered for
 * this node alone.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryPresence, type Presence } from '../../src/cluster/presence.js'
import { RedisPresence } from '../../src/cluster/presence-redis.js'
import { redisUrl } from '../helpers/databases.js'
import { sleep } from '../helpers/wait.js'

const live = { tenantId: 'ten_a', environment: 'live' as const }
const test = { tenantId: 'ten_a', environment: 'test' as const }
const other = { tenantId: 'ten_b', environment: 'live' as const }

const opened: Presence[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((presence) => presence.close()))
})

/** Polls `online` until it answers `expected`. */
async function eventually(presence: Presence, scope: typeof live, users: string[], expected: string[], timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const online = [...(await presence.online(scope, users))].sort()
    if (JSON.stringify(online) === JSON.stringify([...expected].sort())) return
    if (Date.now() > deadline) throw new Error(`online: ${JSON.stringify(online)}, expected ${JSON.stringify(expected)}`)
    await sleep(20)
  }
}

describe('memory presence', () => {
  it('counts each user’s sockets, per tenant environment', async () => {
    const presence = new MemoryPresence()
    const first = presence.connected(live, 'bob')
    const second = presence.connected(live, 'bob')
    presence.connected(test, 'carol')
    expect(await presence.online(live, ['bob', 'carol', 'dave'])).toEqual(new Set(['bob']))
    expect(await presence.online(other, ['bob'])).toEqual(new Set())
    first()
    first()
    expect(await presence.online(live, ['bob'])).toEqual(new Set(['bob']))
    second()
    expect(await presence.online(live, ['bob'])).toEqual(new Set())
    expect(await presence.online(test, ['carol'])).toEqual(new Set(['carol']))
  })
})

// Needs a live Redis (PARLEY_TEST_REDIS_URL); CI sets it and PARLEY_TEST_REQUIRE_SERVICES=1, so there it never skips.
describe.skipIf(!redisUrl)('Redis presence against a live Redis', () => {
  const url = redisUrl!
  const errors: string[] = []
  const node = (prefix: string, ttlMs = 15_000) => {
    const presence = new RedisPresence({ url, prefix, ttlMs, onError: (_, context) => errors.push(context) })
    opened.push(presence)
    return presence
  }
  const newPrefix = () => `parley-test-${randomBytes(6).toString('hex')}:`

  it('sees the users with a socket on another node, until their last socket there closes', async () => {
    const prefix = newPrefix()
    const a = node(prefix)
    const b = node(prefix)
    const first = b.connected(live, 'bob')
    const second = b.connected(live, 'bob')
    b.connected(live, 'carol')
    a.connected(live, 'dave')
    await eventually(a, live, ['bob', 'carol', 'dave', 'erin'], ['bob', 'carol', 'dave'])
    expect(await a.online(test, ['bob'])).toEqual(new Set())
    expect(await a.online(other, ['bob'])).toEqual(new Set())
    first()
    await sleep(100)
    expect(await a.online(live, ['bob'])).toEqual(new Set(['bob']))
    second()
    await eventually(a, live, ['bob', 'carol'], ['carol'])
    // Another deployment sharing the Redis (another prefix) sees none of it.
    expect(await node(newPrefix()).online(live, ['carol'])).toEqual(new Set())
  })

  it('forgets the users of a node that died once its TTL has passed', async () => {
    const prefix = newPrefix()
    const a = node(prefix, 600)
    const b = node(prefix, 600)
    b.connected(live, 'bob')
    await eventually(a, live, ['bob'], ['bob'])
    // Dies: no renewal, no goodbye.
    clearInterval((b as any).timer)
    ;(b as any).redis.disconnect()
    await sleep(300)
    expect(await a.online(live, ['bob'])).toEqual(new Set(['bob']))
    await eventually(a, live, ['bob'], [], 3000)
    opened.splice(opened.indexOf(b), 1)
  })

  it('writes its users again when its hash was lost from Redis', async () => {
    const prefix = newPrefix()
    const a = node(prefix, 600)
    const b = node(prefix, 600)
    b.connected(live, 'bob')
    await eventually(a, live, ['bob'], ['bob'])
    const admin = new Redis(url)
    try {
      await admin.del(`${prefix}presence:node:${b.nodeId}`)
    } finally {
      admin.disconnect()
    }
    expect(await a.online(live, ['bob'])).toEqual(new Set())
    await eventually(a, live, ['bob'], ['bob'], 2000)
  })

  it('answers for this node alone when Redis cannot be reached', async () => {
    const presence = new RedisPresence({ url: 'redis://127.0.0.1:1', prefix: newPrefix(), onError: (_, context) => errors.push(context), redisOptions: { retryStrategy: () => 50 } })
    opened.push(presence)
    presence.connected(live, 'bob')
    const started = Date.now()
    expect(await presence.online(live, ['bob', 'carol'])).toEqual(new Set(['bob']))
    expect(Date.now() - started).toBeLessThan(2500)
    expect(errors.some((context) => context.startsWith('presence lookup'))).toBe(true)
  })
})
