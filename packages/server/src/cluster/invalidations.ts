/**
 * Cache invalidations: "this key/tenant/user's tokens changed, forget what you cached".
 * Applied locally at once; a broker (Redis, in cluster mode) relays them to every other node via
 * `relay`, and feeds the ones it receives back through `receive`.
 */
export type Invalidation =
  | { type: 'key'; hash: string }
  | { type: 'tenant'; tenantId: string }
  /** A user changed: profile, deletion or token revocation. */
  | { type: 'user'; tenantId: string; environment: 'live' | 'test'; userId: string }
  /** Session-token signing keys were rotated: reload them (new kid to sign with and publish). */
  | { type: 'signing-keys' }
  /**
   * This node may have missed some of the above (its broker connection was lost and is back):
   * forget every cache and re-check every socket. Local only, never relayed.
   */
  | { type: 'everything' }
  /** A dashboard session was signed out: forget it (by the SHA-256 of its cookie). */
  | { type: 'dashboard-session'; tokenHash: string }

type Listener = (invalidation: Invalidation) => void

export class Invalidations {
  private readonly listeners: Listener[] = []
  private relay: Listener | null = null

  /** Register a local consumer (a cache, the realtime hub). */
  on(listener: Listener): void {
    this.listeners.push(listener)
  }

  /** Connect a transport to other nodes. */
  relayTo(relay: Listener): void {
    this.relay = relay
  }

  /** A change made on this node: apply here, then tell the others. */
  publish(invalidation: Invalidation): void {
    this.receive(invalidation)
    this.relay?.(invalidation)
  }

  /** A change announced by this or another node. */
  receive(invalidation: Invalidation): void {
    for (const listener of this.listeners) listener(invalidation)
  }
}
