/**
 * The hub reads fields, not bytes (realtime/hub.ts): what a receiving node needs about a payload
 * (event name, a message's seq) travels in a header beside it, so nothing depends on the order of
 * the payload's keys or on what its text contains. Checked across two nodes on each broker: an
 * in-memory pair and, when PARLEY_TEST_REDIS_URL is set, two nodes on a live Redis.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { DomainEvent } from '../../src/events/envelope.js'
import { domainEvent } from '../../src/events/outbox.js'
import type { Broker } from '../../src/realtime/broker.js'
import { MemoryBroker, MemoryBus } from '../../src/realtime/broker-memory.js'
import { RedisBroker } from '../../src/realtime/broker-redis.js'
import { conversationChannel, userChannel } from '../../src/realtime/channels.js'
import { type Broadcast, Hub } from '../../src/realtime/hub.js'
import { frames } from '../../src/realtime/protocol.js'
import { redisUrl } from '../helpers/databases.js'
import { uniqueSuffix } from '../helpers/values.js'
import { waitFor } from '../helpers/wait.js'

const scope = { tenantId: 'ten_hub', environment: 'live' as const }
const channel = conversationChannel(scope.tenantId, scope.environment, 'cnv_1')

const pairs: Record<string, () => Broker[]> = {
  memory: () => {
    const bus = new MemoryBus()
    return [new MemoryBroker({ bus }), new MemoryBroker({ bus })]
  },
  ...(redisUrl !== null && {
    redis: () => {
      const options = { url: redisUrl!, prefix: `parley-test-${uniqueSuffix()}:` }
      return [new RedisBroker(options), new RedisBroker(options)]
    },
  }),
}

const opened: Broker[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((broker) => broker.close()))
})

/** A subscriber that keeps what it receives. */
function listener() {
  const received: Broadcast[] = []
  return { channels: new Set<string>(), received, receive: (broadcast: Broadcast) => received.push(broadcast) }
}

describe.each(Object.keys(pairs))('hub on %s brokers', (kind) => {
  async function twoNodes() {
    const brokers = pairs[kind]!()
    opened.push(...brokers)
    const [sender, receiver] = brokers.map((broker) => new Hub(broker)) as [Hub, Hub]
    const here = listener()
    const there = listener()
    sender.join(here, channel)
    receiver.join(there, channel)
    await Promise.all(brokers.map((broker) => broker.flush()))
    return { sender, receiver, here, there }
  }

  it('reads the event and its seq from the header, whatever the payload holds and in whatever order', async () => {
    const { sender, here, there } = await twoNodes()
    // Keys in an unusual order, and text that looks like other frames and other seqs.
    const data = {
      metadata: { seq: 999 },
      text: '{"type":"event","event":"member.added","seq":5}',
      seq: 42,
      id: 'msg_1',
      conversationId: 'cnv_1',
      senderId: 'ann',
      clientMessageId: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      editedAt: null,
      deletedAt: null,
    }
    sender.publishEvent(domainEvent('message.created', scope, 'cnv_1', data))
    await waitFor(() => here.received.length === 1 && there.received.length === 1)
    for (const [broadcast] of [here.received, there.received]) {
      expect(broadcast).toMatchObject({ event: 'message.created', seq: 42, conversationId: 'cnv_1', control: null })
      // What a socket gets is exactly the frame, serialised once where the event happened.
      expect(broadcast!.payload).toBe(frames.event('message.created', 'cnv_1', data))
    }
  })

  it('parses only the events sockets follow, and tells typing apart; other events carry no seq', async () => {
    const { sender, there } = await twoNodes()
    const events: DomainEvent[] = [
      domainEvent('member.added', scope, 'cnv_1', { conversationId: 'cnv_1', userId: 'bob', role: 'member', joinedAt: '2026-01-01T00:00:00.000Z', lastReadSeq: 0 }),
      domainEvent('read.updated', scope, 'cnv_1', { conversationId: 'cnv_1', userId: 'bob', lastReadSeq: 3 }),
    ]
    for (const event of events) sender.publishEvent(event)
    sender.publish(channel, { event: 'typing' }, frames.event('typing', 'cnv_1', { userId: 'ann', state: 'start' }))
    await waitFor(() => there.received.length === 3)
    const userOf = (b: Broadcast) => (b.control?.event === 'member.added' || b.control?.event === 'typing' ? b.control.data.userId : null)
    expect(there.received.map((b) => [b.event, b.seq, userOf(b)])).toEqual([
      ['member.added', undefined, 'bob'],
      ['read.updated', undefined, null],
      ['typing', undefined, 'ann'],
    ])
  })

  it('builds one broadcast per node for all its sockets, and never hears bare payloads of another format', async () => {
    const brokers = pairs[kind]!()
    opened.push(...brokers)
    const hub = new Hub(brokers[1]!)
    const [a, b] = [listener(), listener()]
    const user = userChannel(scope.tenantId, scope.environment, 'bob')
    for (const subscriber of [a, b]) hub.join(subscriber, user)
    await brokers[1]!.flush()
    // A node of the previous format publishes the bare frame on the bare channel name.
    brokers[0]!.publish(user, frames.event('read.updated', null, {}))
    new Hub(brokers[0]!).publishEvent(domainEvent('key.alert', scope, null, { alertId: 'alt_1', keyId: 'key_1', rule: 'nearLimit', used: 9, limit: 10 }))
    new Hub(brokers[0]!).publishEvent(
      domainEvent('member.added', scope, 'cnv_2', { conversationId: 'cnv_2', userId: 'bob', role: 'member', joinedAt: '2026-01-01T00:00:00.000Z', lastReadSeq: 0 }),
    )
    await waitFor(() => a.received.length === 1 && b.received.length === 1)
    await Promise.all(brokers.map((broker) => broker.flush()))
    expect(a.received.map((x) => x.event)).toEqual(['member.added'])
    expect(a.received[0]).toBe(b.received[0])
    expect(a.received[0]!.frame).toBe(b.received[0]!.frame)
  })
})
