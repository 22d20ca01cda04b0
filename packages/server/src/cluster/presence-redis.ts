/**
 * Presence in a cluster (presence.ts), kept in Redis as one hash per node: its fields are the
 * users with a socket on that node. Only the node writes its own hash, from the counts it keeps in
 * memory, so a field is written when a user's first socket opens there and deleted when the last
 * one closes — no counter shared between nodes that a dying node could leave too high.
 *
 * A dead node: its hash has a TTL that the node renews every TTL/3, so the users it held are
 * offline for everyone TTL after it stopped, by Redis's own clock (no node clock is trusted). The
 * set of node ids (a sorted set, scored by when each was last seen) only tells readers which
 * hashes to look in; an id whose hash has expired answers nothing, and old ids are pruned.
 *
 * Writes that fail (Redis away) or a hash that expired meanwhile (the node stalled past the TTL)
 * are repaired at the next renewal: the node rewrites its whole hash from memory.
 *
 * Load this module with a dynamic import only when Redis is configured.
 */
import { randomUUID } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import { LocalSockets, type Presence, type PresenceScope, presenceKey } from './presence.js'

export interface RedisPresenceOptions {
  url: string
  /** Prepended to every key (PARLEY_REDIS_PREFIX). */
  prefix: string
  onError(error: unknown, context: string): void
  /** How long a node's users stay online after its last renewal (ms). */
  ttlMs?: number
  redisOptions?: RedisOptions
}

const DEFAULT_TTL_MS = 15_000
/** Node ids not seen for this long are dropped from the set (their hashes expired long ago). */
const FORGET_NODES_AFTER_MS = 3600_000
/** Fields per HSET when the hash is rewritten. */
const REWRITE_CHUNK = 1000
const CLOSE_GRACE_MS = 1000

export class RedisPresence implements Presence {
  readonly nodeId = randomUUID()
  private readonly redis: Redis
  private readonly local = new LocalSockets()
  private readonly nodesKey: string
  private readonly ttlMs: number
  /** The hash in Redis may disagree with `local`: rewrite it at the next renewal. */
  private dirty = false
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor(private readonly options: RedisPresenceOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS
    this.nodesKey = `${options.prefix}presence:nodes`
    // A lookup is on the path of every push: it waits a second at most, then answers for this node alone.
    this.redis = new Redis(options.url, { commandTimeout: 1000, ...options.redisOptions, connectionName: `parley-presence-${this.nodeId}` })
    this.redis.on('error', (error) => options.onError(error, 'redis presence connection'))
    // Redis may have restarted empty, and writes made meanwhile may be lost: rewrite.
    this.redis.on('ready', () => {
      this.dirty = true
      void this.renew()
    })
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.ttlMs / 3)))
    this.timer.unref()
  }

  private hashOf(nodeId: string): string {
    return `${this.options.prefix}presence:node:${nodeId}`
  }

  connected(scope: PresenceScope, userId: string): () => void {
    const key = presenceKey(scope, userId)
    const hash = this.hashOf(this.nodeId)
    if (this.local.add(key)) this.write(this.redis.multi().hset(hash, key, '1').pexpire(hash, this.ttlMs), 'presence: socket opened')
    let open = true
    return () => {
      if (!open) return
      open = false
      if (this.local.remove(key) && !this.closed) this.write(this.redis.multi().hdel(hash, key), 'presence: socket closed')
    }
  }

  async online(scope: PresenceScope, userIds: readonly string[]): Promise<Set<string>> {
    const online = new Set<string>()
    const elsewhere: string[] = []
    for (const userId of userIds) {
      if (this.local.has(presenceKey(scope, userId))) online.add(userId)
      else elsewhere.push(userId)
    }
    if (elsewhere.length === 0 || this.closed) return online
    try {
      const nodes = (await this.redis.zrange(this.nodesKey, 0, -1)).filter((id) => id !== this.nodeId)
      if (nodes.length === 0) return online
      const fields = elsewhere.map((userId) => presenceKey(scope, userId))
      const pipeline = this.redis.pipeline()
      for (const node of nodes) pipeline.hmget(this.hashOf(node), ...fields)
      for (const [error, values] of (await pipeline.exec()) ?? []) {
        if (error) throw error
        ;(values as (string | null)[]).forEach((value, i) => {
          if (value !== null) online.add(elsewhere[i]!)
        })
      }
    } catch (error) {
      this.options.onError(error, 'presence lookup (answered for this node alone)')
    }
    return online
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    // Its sockets are closed (the gateway closes first): nobody should wait for this node's TTL.
    const leave = this.redis.multi().del(this.hashOf(this.nodeId)).zrem(this.nodesKey, this.nodeId).exec().catch(() => undefined)
    let grace: NodeJS.Timeout | undefined
    await Promise.race([leave, new Promise((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS)))])
    clearTimeout(grace)
    this.redis.disconnect()
  }

  /** Says this node is alive (renews its hash's TTL), and rewrites the hash when it may be wrong. */
  private async renew(): Promise<void> {
    if (this.closed || this.redis.status !== 'ready') return
    const hash = this.hashOf(this.nodeId)
    const now = Date.now()
    try {
      const replies = await this.redis
        .multi()
        .zadd(this.nodesKey, now, this.nodeId)
        .zremrangebyscore(this.nodesKey, '-inf', now - FORGET_NODES_AFTER_MS)
        .pexpire(hash, this.ttlMs)
        .exec()
      const renewed = replies?.[2]?.[1] === 1
      // Expired (the node stalled past the TTL) while it still holds sockets: its users vanished.
      if (this.dirty || (!renewed && this.local.size > 0)) await this.rewrite(hash)
    } catch (error) {
      this.options.onError(error, 'presence renewal')
    }
  }

  private async rewrite(hash: string): Promise<void> {
    this.dirty = false
    const keys = [...this.local.keys()]
    const multi = this.redis.multi().del(hash)
    for (let i = 0; i < keys.length; i += REWRITE_CHUNK) multi.hset(hash, ...keys.slice(i, i + REWRITE_CHUNK).flatMap((key) => [key, '1']))
    if (keys.length > 0) multi.pexpire(hash, this.ttlMs)
    try {
      await multi.exec()
    } catch (error) {
      this.dirty = true
      throw error
    }
  }

  private write(multi: ReturnType<Redis['multi']>, context: string): void {
    multi.exec().catch((error) => {
      this.dirty = true
      this.options.onError(error, context)
    })
  }
}
