/**
 * Presence: which end users have an open realtime socket, on any node. Push notifications go only
 * to members who have none (API.md §10), so the node that fans a message out must know about the
 * sockets of every other node too.
 *
 * The realtime gateway counts each socket it opens (`connected`) and uncounts it when it closes.
 * `online` answers for a set of users of one tenant environment at once (a 1,000-member group is
 * one question, not a thousand).
 *
 * Two implementations: MemoryPresence for one node (the sockets this process holds are all there
 * are), and RedisPresence (presence-redis.ts) for a cluster.
 */
export interface PresenceScope {
  tenantId: string
  environment: 'live' | 'test'
}

export interface Presence {
  /** A socket of `userId` opened on this node; the function returned says it closed (once). */
  connected(scope: PresenceScope, userId: string): () => void
  /**
   * Those of `userIds` with an open socket on some node. Never rejects: when the other nodes
   * cannot be asked, it answers for this node alone (a push too many beats one missed).
   */
  online(scope: PresenceScope, userIds: readonly string[]): Promise<Set<string>>
  close(): Promise<void>
}

/** The key of a user in presence maps (a space occurs in no tenant, environment or user id). */
export const presenceKey = (scope: PresenceScope, userId: string): string => `${scope.tenantId} ${scope.environment} ${userId}`

/** Open sockets per user on this node. */
export class LocalSockets {
  private readonly counts = new Map<string, number>()

  /** Counts one more socket; true when it is the user's first on this node. */
  add(key: string): boolean {
    const count = (this.counts.get(key) ?? 0) + 1
    this.counts.set(key, count)
    return count === 1
  }

  /** Counts one socket less; true when it was the user's last on this node. */
  remove(key: string): boolean {
    const count = (this.counts.get(key) ?? 0) - 1
    if (count > 0) {
      this.counts.set(key, count)
      return false
    }
    this.counts.delete(key)
    return true
  }

  has(key: string): boolean {
    return this.counts.has(key)
  }

  keys(): IterableIterator<string> {
    return this.counts.keys()
  }

  get size(): number {
    return this.counts.size
  }
}

/** One node: its own sockets are every socket. */
export class MemoryPresence implements Presence {
  private readonly local = new LocalSockets()

  connected(scope: PresenceScope, userId: string): () => void {
    const key = presenceKey(scope, userId)
    this.local.add(key)
    let open = true
    return () => {
      if (!open) return
      open = false
      this.local.remove(key)
    }
  }

  async online(scope: PresenceScope, userIds: readonly string[]): Promise<Set<string>> {
    return new Set(userIds.filter((userId) => this.local.has(presenceKey(scope, userId))))
  }

  async close(): Promise<void> {}
}
