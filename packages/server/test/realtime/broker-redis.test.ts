/**
 * What only the Redis broker has: real SUBSCRIBE commands, reconnections and an unreachable
 * server. The behaviour both brokers share is in broker-conformance.test.ts.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { RedisBroker } from '../../src/realtime/broker-redis.js'
import { redisUrl } from '../helpers/databases.js'

const brokers: RedisBroker[] = []
const errors: string[] = []

function broker(url: string): RedisBroker {
  const created = new RedisBroker({ url, prefix: `parley-test-${randomBytes(6).toString('hex')}:`, onError: (_, context) => errors.push(context) })
  brokers.push(created)
  return created
}

afterEach(async () => {
  await Promise.all(brokers.splice(0).map((created) => created.close()))
  errors.length = 0
  vi.restoreAllMocks()
})

// Needs a live Redis (PARLEY_TEST_REDIS_URL); CI requires it, so there it never skips.
describe.skipIf(!redisUrl)('Redis broker against a live Redis', () => {
  const url = redisUrl!

  it('sends SUBSCRIBE and UNSUBSCRIBE only when a channel count goes 0→1 and 1→0', async () => {
    const subscribe = vi.spyOn(Redis.prototype, 'subscribe')
    const unsubscribe = vi.spyOn(Redis.prototype, 'unsubscribe')
    const node = broker(url)
    const channel = node.redisChannel('conv:ten_1:live:cnv_1')
    const commandsFor = (spy: typeof subscribe | typeof unsubscribe) => spy.mock.calls.filter((args) => args[0] === channel).length

    const stops = [node.subscribe('conv:ten_1:live:cnv_1', () => {}), node.subscribe('conv:ten_1:live:cnv_1', () => {})]
    stops[0]!()
    await node.flush()
    expect([commandsFor(subscribe), commandsFor(unsubscribe)]).toEqual([1, 0])

    stops[1]!()
    await node.flush()
    expect([commandsFor(subscribe), commandsFor(unsubscribe)]).toEqual([1, 1])
  })

  it('resubscribes after its subscriber connection is killed', async () => {
    const admin = new Redis(url)
    try {
      const node = broker(url)
      const received: string[] = []
      node.subscribe('user:ten_1:live:usr_1', (payload) => received.push(payload))
      await node.flush()

      const clients = (await admin.client('LIST')) as string
      const line = clients.split('\n').find((entry) => entry.includes(`name=${node.prefix}broker-sub:${node.nodeId}`))
      const id = /\bid=(\d+)/.exec(line ?? '')?.[1]
      expect(id).toBeDefined()
      await admin.client('KILL', 'ID', id!)

      const numsub = async () => Number(((await admin.pubsub('NUMSUB', node.redisChannel('user:ten_1:live:usr_1'))) as [string, number])[1])
      await vi.waitFor(async () => expect(await numsub()).toBe(1), { timeout: 5_000, interval: 20 })
      node.publish('user:ten_1:live:usr_1', 'after reconnect')
      await vi.waitFor(() => expect(received).toEqual(['after reconnect']), { timeout: 2_000, interval: 5 })
    } finally {
      await admin.quit()
    }
  })

  it('calls onReconnect handlers after a reconnection, once listening again, and not for the first connection', async () => {
    const admin = new Redis(url)
    try {
      const node = broker(url)
      const received: string[] = []
      node.subscribe('user:ten_1:live:usr_1', (payload) => received.push(payload))
      let reconnects = 0
      // Published from the handler: it arrives only if the subscriptions are back when told.
      node.onReconnect(() => {
        reconnects++
        node.publish('user:ten_1:live:usr_1', `told of reconnection ${reconnects}`)
      })
      await node.flush()
      await node.ping()
      expect(reconnects).toBe(0)

      const clients = (await admin.client('LIST')) as string
      const line = clients.split('\n').find((entry) => entry.includes(`name=${node.prefix}broker-sub:${node.nodeId}`))
      await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(line ?? '')![1]!)
      await vi.waitFor(() => expect(received).toEqual(['told of reconnection 1']), { timeout: 5_000, interval: 5 })
      expect(reconnects).toBe(1)
    } finally {
      await admin.quit()
    }
  })
})

describe('Redis broker without a reachable Redis', () => {
  it('reports connection errors instead of crashing, and still closes promptly', async () => {
    const node = broker('redis://127.0.0.1:1') // nothing listens on port 1
    const stop = node.subscribe('conv:ten_1:live:cnv_1', () => {})
    expect(() => node.publish('conv:ten_1:live:cnv_1', 'lost')).not.toThrow()
    await vi.waitFor(() => expect(errors).toContain('redis subscriber connection'), { timeout: 2_000, interval: 10 })
    expect(errors).toContain('redis publisher connection')
    stop()

    const closing = performance.now()
    await node.close()
    expect(performance.now() - closing).toBeLessThan(500)
  })
})
