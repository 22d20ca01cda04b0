/**
 * One suite for every Broker implementation. Each test builds a small "cluster" of nodes: memory
 * brokers sharing a MemoryBus, or Redis brokers sharing a Redis under a prefix unique to the test.
 *
 * Asserting that something did NOT arrive needs no sleeping: `settle` sends a marker from the same
 * publisher and waits for it, and a marker is delivered after everything its publisher sent before.
 */
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Broker } from '../../src/realtime/broker.js'
import { MemoryBroker, MemoryBus } from '../../src/realtime/broker-memory.js'
import { RedisBroker } from '../../src/realtime/broker-redis.js'
import { redisUrl } from '../helpers/databases.js'
import { uniqueSuffix } from '../helpers/values.js'

interface TestCluster {
  node(): Broker
  /** Redis-level subscriptions to a channel (PUBSUB NUMSUB), or null where Redis is not involved. */
  redisSubscribers(channel: string): Promise<number | null>
  /** Nodes still attached to the transport: bus members, or named connections in CLIENT LIST. */
  openConnections(): Promise<number>
  close(): Promise<void>
}

const errors: { error: unknown; context: string }[] = []
const onError = (error: unknown, context: string) => errors.push({ error, context })

function memoryCluster(): TestCluster {
  const bus = new MemoryBus()
  return {
    node: () => new MemoryBroker({ bus, onError }),
    redisSubscribers: async () => null,
    openConnections: async () => bus.nodes.size,
    close: async () => {
      await Promise.all([...bus.nodes].map((node) => node.close()))
    },
  }
}

function redisCluster(url: string): TestCluster {
  const prefix = `parley-test-${uniqueSuffix()}:`
  const nodes: RedisBroker[] = []
  const admin = new Redis(url)
  return {
    node: () => {
      const node = new RedisBroker({ url, prefix, onError })
      nodes.push(node)
      return node
    },
    redisSubscribers: async (channel) => {
      const reply = (await admin.pubsub('NUMSUB', `${prefix}events:${channel}`)) as [string, number]
      return Number(reply[1])
    },
    openConnections: async () => {
      const list = (await admin.client('LIST')) as string
      return list.split('\n').filter((line) => line.includes(`name=${prefix}broker-`)).length
    },
    close: async () => {
      await Promise.all(nodes.map((node) => node.close()))
      await admin.quit()
    },
  }
}

const IMPLEMENTATIONS = [
  { name: 'memory', available: true, cluster: memoryCluster },
  { name: 'redis', available: redisUrl !== null, cluster: () => redisCluster(redisUrl!) },
]

/** Records what a subscription receives. */
function listen(broker: Broker, channel: string) {
  const received: string[] = []
  const stop = broker.subscribe(channel, (payload) => received.push(payload))
  return { received, stop }
}

/** Waits until everything `publisher` sent so far has reached `receivers`. */
async function settle(publisher: Broker, ...receivers: Broker[]): Promise<void> {
  const channel = `settle:${uniqueSuffix()}`
  const marks = receivers.map((receiver) => listen(receiver, channel))
  await Promise.all(receivers.map((receiver) => receiver.flush()))
  publisher.publish(channel, 'mark')
  await vi.waitFor(() => marks.forEach((mark) => expect(mark.received).toEqual(['mark'])), { timeout: 2_000, interval: 5 })
  for (const mark of marks) mark.stop()
}

for (const implementation of IMPLEMENTATIONS) {
  // The Redis broker runs when PARLEY_TEST_REDIS_URL is set; CI requires it, so there it never skips.
  describe.skipIf(!implementation.available)(`${implementation.name} broker`, () => {
    let cluster: TestCluster

    const start = () => {
      cluster = implementation.cluster()
      return cluster
    }

    afterEach(async () => {
      await cluster?.close()
      expect(errors).toEqual([])
      errors.length = 0
    })

    it('delivers a publication once to every subscription of its channel, on every node, and nowhere else', async () => {
      start()
      const a = cluster.node()
      const b = cluster.node()
      const onA1 = listen(a, 'conv:ten_1:live:cnv_x')
      const onA2 = listen(a, 'conv:ten_1:live:cnv_x')
      const onB = listen(b, 'conv:ten_1:live:cnv_x')
      const otherChannel = listen(b, 'conv:ten_1:live:cnv_y')
      await Promise.all([a.flush(), b.flush()])

      a.publish('conv:ten_1:live:cnv_x', '{"n":1}')
      await settle(a, a, b)

      expect(onA1.received).toEqual(['{"n":1}'])
      expect(onA2.received).toEqual(['{"n":1}'])
      expect(onB.received).toEqual(['{"n":1}'])
      expect(otherChannel.received).toEqual([])
    })

    it('stops delivering after unsubscribe', async () => {
      start()
      const a = cluster.node()
      const b = cluster.node()
      const onA = listen(a, 'user:ten_1:live:usr_1')
      await a.flush()
      b.publish('user:ten_1:live:usr_1', 'before')
      await settle(b, a)

      onA.stop()
      onA.stop() // a second call must not disturb anything
      await a.flush()
      b.publish('user:ten_1:live:usr_1', 'after')
      await settle(b, a)

      expect(onA.received).toEqual(['before'])
    })

    it('counts references: the node listens while any subscription is open', async () => {
      start()
      const a = cluster.node()
      const b = cluster.node()
      const channel = 'tenant:ten_1:live'
      const first = listen(a, channel)
      const second = listen(a, channel)
      await a.flush()
      expect(await cluster.redisSubscribers(channel)).toBeOneOf([1, null])

      first.stop()
      first.stop() // must not count twice
      await a.flush()
      expect(await cluster.redisSubscribers(channel)).toBeOneOf([1, null])
      b.publish(channel, 'one left')
      await settle(b, a)
      expect(second.received).toEqual(['one left'])

      second.stop()
      await a.flush()
      expect(await cluster.redisSubscribers(channel)).toBeOneOf([0, null])
      b.publish(channel, 'none left')
      await settle(b, a)
      expect(first.received).toEqual([])
      expect(second.received).toEqual(['one left'])

      const again = listen(a, channel) // 0 → 1 once more
      await a.flush()
      b.publish(channel, 'back')
      await settle(b, a)
      expect(again.received).toEqual(['back'])
    })

    it('preserves the order of 1,000 publications on a channel', async () => {
      start()
      const a = cluster.node()
      const b = cluster.node()
      const onA = listen(a, 'conv:ten_1:live:cnv_order')
      const onB = listen(b, 'conv:ten_1:live:cnv_order')
      await Promise.all([a.flush(), b.flush()])

      const sent = Array.from({ length: 1_000 }, (_, i) => `{"seq":${i}}`)
      for (const payload of sent) a.publish('conv:ten_1:live:cnv_order', payload)

      await vi.waitFor(() => expect(onB.received.length).toBe(1_000), { timeout: 5_000, interval: 10 })
      await settle(a, a)
      expect(onA.received).toEqual(sent)
      expect(onB.received).toEqual(sent)
    })

    it('keeps the order when a handler publishes to the channel it is handling', async () => {
      start()
      const a = cluster.node()
      const reply = a.subscribe('conv:ten_1:live:cnv_echo', (payload) => {
        if (payload === 'first') a.publish('conv:ten_1:live:cnv_echo', 'second')
      })
      const onA = listen(a, 'conv:ten_1:live:cnv_echo')
      await a.flush()

      a.publish('conv:ten_1:live:cnv_echo', 'first')
      await vi.waitFor(() => expect(onA.received).toHaveLength(2), { timeout: 2_000, interval: 5 })
      expect(onA.received).toEqual(['first', 'second'])
      reply()
    })

    it('broadcasts invalidations to every node within a second, to the publisher once', async () => {
      start()
      const a = cluster.node()
      const b = cluster.node()
      const onA: [unknown, boolean][] = []
      const onB: [unknown, boolean][] = []
      a.onInvalidation((message, fromThisNode) => onA.push([message, fromThisNode]))
      b.onInvalidation((message, fromThisNode) => onB.push([message, fromThisNode]))
      await Promise.all([a.flush(), b.flush()])

      const invalidation = { type: 'user-tokens', tenantId: 'ten_1', environment: 'live', userId: 'usr_1' }
      const sentAt = performance.now()
      a.publishInvalidation(invalidation)
      await vi.waitFor(() => expect(onB).toHaveLength(1), { timeout: 1_000, interval: 5 })
      expect(performance.now() - sentAt).toBeLessThan(1_000)
      await settle(a, a, b)

      expect(onA).toEqual([[invalidation, true]])
      expect(onB).toEqual([[invalidation, false]])
    })

    it('releases its connections on close() and ignores calls afterwards', async () => {
      start()
      const a = cluster.node()
      const onA = listen(a, 'conv:ten_1:live:cnv_closed')
      await a.flush()
      await vi.waitFor(async () => expect(await cluster.openConnections()).toBeGreaterThan(0), { timeout: 2_000 })

      await a.close()
      await a.close() // idempotent
      await vi.waitFor(async () => expect(await cluster.openConnections()).toBe(0), { timeout: 2_000, interval: 20 })

      expect(() => a.publish('conv:ten_1:live:cnv_closed', 'late')).not.toThrow()
      expect(() => a.publishInvalidation({ type: 'tenant', tenantId: 'ten_1' })).not.toThrow()
      a.subscribe('conv:ten_1:live:cnv_closed', () => {})()
      await a.flush()
      expect(onA.received).toEqual([])
    })
  })
}
