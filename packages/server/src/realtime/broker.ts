/**
 * The cluster broker: what Parley nodes tell each other. Two kinds of traffic travel on it:
 *
 * - domain events on channels (`conv:<tenantId>:<env>:<conversationId>`, `user:…`, `tenant:…`),
 *   which a node receives only while one of its local sockets has subscribed;
 * - cache invalidations, a broadcast every node always receives (see cluster/invalidations.ts).
 *
 * Two implementations share one conformance suite (test/realtime/broker-conformance.test.ts):
 * broker-memory.ts for a single node (and in-process "clusters" in tests) and broker-redis.ts.
 */

/** Ends one subscription. Calling it more than once does nothing. */
export type Unsubscribe = () => void

/** Receives a payload exactly as it was published (already-serialised JSON). */
export type ChannelHandler = (payload: string) => void

/**
 * Receives one invalidation, parsed from JSON. `fromThisNode` is true for the node's own
 * publications, which callers usually applied locally already and may skip.
 */
export type InvalidationHandler = (message: unknown, fromThisNode: boolean) => void

/** Called after the node's connection to the cluster came back: publications meanwhile were lost. */
export type ReconnectHandler = () => void

/** Reports a failure the broker survived: a lost connection, a failed publish, a throwing handler. */
export type BrokerErrorHandler = (error: unknown, context: string) => void

/**
 * Carries events and invalidations between Parley nodes.
 *
 * Guarantees, on both implementations:
 * - a publication reaches every subscription to its channel on every node, the publishing node
 *   included, exactly once (never through both a local shortcut and the network);
 * - publications from one node to one channel arrive in the order they were published;
 * - delivery is at most once across outages: pub/sub keeps nothing for a node that is away, so
 *   realtime clients recover with `resume`;
 * - no failure throws out of `publish` or reaches the process: it goes to the `onError` option.
 *
 * @example
 * const stop = broker.subscribe('conv:ten_1:live:cnv_1', (payload) => socket.send(payload))
 * broker.publish('conv:ten_1:live:cnv_1', JSON.stringify(frame))
 * stop()
 */
export interface Broker {
  /** Sends `payload` to every subscription of `channel` in the cluster. Fire and forget. */
  publish(channel: string, payload: string): void

  /**
   * Delivers the channel's publications to `handler` until the returned function is called.
   * Subscriptions are reference counted: call once per local socket; the node listens on the
   * channel while at least one subscription is open. The same handler subscribed twice is two
   * subscriptions and receives each payload twice.
   */
  subscribe(channel: string, handler: ChannelHandler): Unsubscribe

  /** Broadcasts a JSON-serialisable message to every node's invalidation handlers. */
  publishInvalidation(message: object): void

  /** Receives every node's invalidations (this node's too) until the returned function is called. */
  onInvalidation(handler: InvalidationHandler): Unsubscribe

  /**
   * Calls `handler` each time the node is listening again after losing its connection to the
   * cluster (its subscriptions restored), until the returned function is called. Whatever was
   * published meanwhile never arrives, so state kept from events (a socket's subscriptions) must
   * be re-read from storage. Never called for the first connection; an in-process broker never
   * loses its connection and never calls it.
   */
  onReconnect(handler: ReconnectHandler): Unsubscribe

  /**
   * Resolves once every publish, subscribe and unsubscribe issued before the call has taken
   * effect at the broker (e.g. Redis acknowledged it). Useful before relying on a fresh
   * subscription, and in tests. Never rejects.
   */
  flush(): Promise<void>

  /** Resolves when the backing service answers (readiness); absent for in-process brokers. */
  ping?(): Promise<void>

  /** Stops all delivery and releases connections. Later calls to any method do nothing. */
  close(): Promise<void>
}

/** The fallback when no `onError` is given: the process keeps running, the failure is visible. */
export const logBrokerError: BrokerErrorHandler = (error, context) => {
  console.error(`[parley broker] ${context}:`, error)
}
