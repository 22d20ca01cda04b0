/**
 * The in-process broker: the default for a single node. Brokers sharing a `MemoryBus` behave like
 * the nodes of a cluster, which lets multi-node tests run without Redis.
 *
 * Delivery is synchronous (a local revocation takes effect before `publish` returns) but goes
 * through a per-node queue, so a handler that publishes cannot overtake the payload it is handling:
 * every subscriber still sees each channel in publication order.
 */
import {
  logBrokerError,
  type Broker,
  type BrokerErrorHandler,
  type ChannelHandler,
  type InvalidationHandler,
  type Unsubscribe,
} from './broker.js'
import { ChannelSubscriptions, HandlerSet } from './broker-subscriptions.js'

/** The "network" joining in-process brokers; each broker joins one on creation. */
export class MemoryBus {
  readonly nodes = new Set<MemoryBroker>()
}

export interface MemoryBrokerOptions {
  /** Share a bus to simulate several nodes; by default each broker is alone. */
  bus?: MemoryBus
  onError?: BrokerErrorHandler
}

const noop: Unsubscribe = () => {}

export class MemoryBroker implements Broker {
  private readonly bus: MemoryBus
  private readonly channels: ChannelSubscriptions
  private readonly invalidationHandlers: HandlerSet<[unknown, boolean]>
  private readonly queue: (() => void)[] = []
  private draining = false
  private closed = false

  constructor(options: MemoryBrokerOptions = {}) {
    const onError = options.onError ?? logBrokerError
    this.bus = options.bus ?? new MemoryBus()
    // Nothing to start or stop per channel in memory: the count alone decides who receives.
    this.channels = new ChannelSubscriptions({ first: () => {}, last: () => {} }, onError)
    this.invalidationHandlers = new HandlerSet(onError)
    this.bus.nodes.add(this)
  }

  publish(channel: string, payload: string): void {
    if (this.closed) return
    for (const node of this.bus.nodes) node.enqueue(() => node.channels.deliver(channel, payload))
  }

  subscribe(channel: string, handler: ChannelHandler): Unsubscribe {
    return this.closed ? noop : this.channels.add(channel, handler)
  }

  publishInvalidation(message: object): void {
    if (this.closed) return
    // Serialised like on the wire, so a message that would not survive Redis fails here too.
    const serialised = JSON.stringify(message)
    for (const node of this.bus.nodes) {
      node.enqueue(() => node.invalidationHandlers.emit('invalidation handler', JSON.parse(serialised), node === this))
    }
  }

  onInvalidation(handler: InvalidationHandler): Unsubscribe {
    return this.closed ? noop : this.invalidationHandlers.add(handler)
  }

  onReconnect(): Unsubscribe {
    // Nodes in one process are never disconnected from each other.
    return noop
  }

  async flush(): Promise<void> {
    // Deliveries complete before publish returns; nothing is ever pending.
  }

  async close(): Promise<void> {
    this.closed = true
    this.bus.nodes.delete(this)
    this.channels.clear()
    this.invalidationHandlers.clear()
    this.queue.length = 0
  }

  private enqueue(delivery: () => void): void {
    this.queue.push(delivery)
    if (this.draining) return // the outer drain, further up this call stack, will run it in turn
    this.draining = true
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) next()
    } finally {
      this.draining = false
    }
  }
}
