/**
 * The Redis broker: Redis pub/sub between the nodes of a cluster.
 *
 * Two connections per node, because a connection in subscriber mode can run nothing else: one
 * publishes, one subscribes. A node's own publications come back to it through Redis like anyone
 * else's (there is no local shortcut), which is what makes "exactly once" hold on every node.
 * Order per channel holds because each connection sends its commands in call order, Redis relays
 * one publisher's messages in that order, and delivery to handlers is synchronous.
 *
 * Reconnection: ioredis (autoResubscribe, on by default) re-subscribes after a reconnect to every
 * channel Redis had acknowledged, then sends the commands queued while offline, so subscriptions
 * and unsubscriptions made during an outage end in the right state. Messages published during
 * the outage are lost to this node (pub/sub keeps nothing); clients recover with `resume`, and
 * `onReconnect` handlers re-read from storage what the node kept from events (socket subscriptions).
 *
 * Load this module with a dynamic import only when Redis is configured, so single-node
 * installations never load ioredis.
 */
import { randomUUID } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import {
  logBrokerError,
  type Broker,
  type BrokerErrorHandler,
  type ChannelHandler,
  type InvalidationHandler,
  type ReconnectHandler,
  type Unsubscribe,
} from './broker.js'
import { ChannelSubscriptions, HandlerSet } from './broker-subscriptions.js'

export interface RedisBrokerOptions {
  /** `redis://` or `rediss://` URL. */
  url: string
  /** Prepended to every Redis channel name, so several deployments can share one Redis. */
  prefix?: string
  onError?: BrokerErrorHandler
  /** Extra ioredis options (TLS, timeouts); the broker sets connectionName itself. */
  redisOptions?: RedisOptions
}

/** How long close() lets pending commands finish before cutting the connections. */
const CLOSE_GRACE_MS = 1_000

const noop: Unsubscribe = () => {}

/** The envelope of an invalidation on the wire; `from` tells a node its own messages. */
interface InvalidationEnvelope {
  from: string
  message: unknown
}

export class RedisBroker implements Broker {
  /** Identifies this node in invalidation envelopes and in Redis `CLIENT LIST`. */
  readonly nodeId = randomUUID()
  readonly prefix: string
  private readonly publisher: Redis
  private readonly subscriber: Redis
  private readonly channels: ChannelSubscriptions
  private readonly invalidationHandlers: HandlerSet<[unknown, boolean]>
  private readonly reconnectHandlers: HandlerSet<[]>
  /** The subscriber connection was ready once: every later 'ready' is a reconnection. */
  private subscriberWasReady = false
  private readonly invalidationChannel: string
  private readonly onError: BrokerErrorHandler
  // Each connection answers in order, so the last command sent stands for all before it.
  private lastPublish: Promise<unknown> = Promise.resolve()
  private lastSubscription: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(options: RedisBrokerOptions) {
    this.prefix = options.prefix ?? 'parley:'
    this.onError = options.onError ?? logBrokerError
    this.invalidationChannel = `${this.prefix}invalidations`
    this.publisher = new Redis(options.url, { ...options.redisOptions, connectionName: this.connectionName('pub') })
    this.subscriber = new Redis(options.url, {
      ...options.redisOptions,
      connectionName: this.connectionName('sub'),
      // Never drop a queued SUBSCRIBE after a few failed reconnects: ioredis resubscribes only
      // what Redis acknowledged, so a dropped one would leave the node deaf to that channel.
      maxRetriesPerRequest: null,
    })
    // Without an 'error' listener a connection failure surfaces as an unhandled error event.
    this.publisher.on('error', (error) => this.report(error, 'redis publisher connection'))
    this.subscriber.on('error', (error) => this.report(error, 'redis subscriber connection'))
    this.subscriber.on('message', (redisChannel: string, payload: string) => this.receive(redisChannel, payload))
    this.subscriber.on('ready', () => this.subscriberReady())

    this.channels = new ChannelSubscriptions(
      {
        first: (channel) => this.command(this.subscriber.subscribe(this.redisChannel(channel)), `subscribe ${channel}`),
        last: (channel) => this.command(this.subscriber.unsubscribe(this.redisChannel(channel)), `unsubscribe ${channel}`),
      },
      this.onError,
    )
    this.invalidationHandlers = new HandlerSet(this.onError)
    this.reconnectHandlers = new HandlerSet(this.onError)
    this.command(this.subscriber.subscribe(this.invalidationChannel), 'subscribe to invalidations')
  }

  /** The Redis channel that carries a Parley channel (kept apart from the invalidation topic). */
  redisChannel(channel: string): string {
    return `${this.prefix}events:${channel}`
  }

  publish(channel: string, payload: string): void {
    if (this.closed) return
    this.lastPublish = this.publisher.publish(this.redisChannel(channel), payload).catch((error) => this.report(error, `publish to ${channel}`))
  }

  subscribe(channel: string, handler: ChannelHandler): Unsubscribe {
    return this.closed ? noop : this.channels.add(channel, handler)
  }

  publishInvalidation(message: object): void {
    if (this.closed) return
    const envelope: InvalidationEnvelope = { from: this.nodeId, message }
    this.lastPublish = this.publisher
      .publish(this.invalidationChannel, JSON.stringify(envelope))
      .catch((error) => this.report(error, 'publish invalidation'))
  }

  onInvalidation(handler: InvalidationHandler): Unsubscribe {
    return this.closed ? noop : this.invalidationHandlers.add(handler)
  }

  onReconnect(handler: ReconnectHandler): Unsubscribe {
    return this.closed ? noop : this.reconnectHandlers.add(handler)
  }

  /** Resolves when Redis answers a PING within a second (readiness). */
  async ping(): Promise<void> {
    await Promise.race([
      this.publisher.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('Redis did not answer PING within 1 s')), 1000).unref()),
    ])
  }

  async flush(): Promise<void> {
    await Promise.all([this.lastPublish, this.lastSubscription])
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.channels.clear()
    this.invalidationHandlers.clear()
    this.reconnectHandlers.clear()
    await Promise.all([quitGracefully(this.publisher), quitGracefully(this.subscriber)])
  }

  private connectionName(role: 'pub' | 'sub'): string {
    // CLIENT SETNAME refuses spaces; the prefix is the operator's, so make sure.
    return `${this.prefix}broker-${role}:${this.nodeId}`.replace(/\s/g, '_')
  }

  private command(sent: Promise<unknown>, context: string): void {
    this.lastSubscription = sent.catch((error) => this.report(error, context))
  }

  private subscriberReady(): void {
    if (!this.subscriberWasReady) {
      this.subscriberWasReady = true
      return
    }
    // ioredis sends the resubscriptions right after emitting 'ready' (same tick): a PING sent
    // behind them is answered once they are in effect, so handlers run with the node listening.
    queueMicrotask(() => {
      this.subscriber.ping().then(
        () => {
          if (!this.closed) this.reconnectHandlers.emit('reconnect handler')
        },
        (error) => this.report(error, 'ping after reconnect'),
      )
    })
  }

  private receive(redisChannel: string, payload: string): void {
    if (redisChannel === this.invalidationChannel) return this.receiveInvalidation(payload)
    const eventsPrefix = this.redisChannel('')
    if (redisChannel.startsWith(eventsPrefix)) this.channels.deliver(redisChannel.slice(eventsPrefix.length), payload)
  }

  private receiveInvalidation(raw: string): void {
    let envelope: InvalidationEnvelope
    try {
      envelope = JSON.parse(raw) as InvalidationEnvelope
    } catch (error) {
      return this.report(error, 'malformed invalidation')
    }
    this.invalidationHandlers.emit('invalidation handler', envelope.message, envelope.from === this.nodeId)
  }

  private report(error: unknown, context: string): void {
    // Once closing, failures of the connections being torn down are expected noise.
    if (!this.closed) this.onError(error, context)
  }
}

/** QUIT lets pending commands finish; an unreachable Redis must not hold shutdown hostage. */
async function quitGracefully(connection: Redis): Promise<void> {
  // Not connected: QUIT would only wait in the offline queue, and there is nothing to flush.
  if (connection.status !== 'ready') return connection.disconnect()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_GRACE_MS)
  })
  await Promise.race([connection.quit().catch(() => {}), timeout])
  clearTimeout(timer)
  connection.disconnect()
}
