/**
 * Step 1 of the composition root: what the node talks to. SQLite or PostgreSQL by URL; the
 * in-memory broker, limiter and presence for one node, Redis ones (loaded only then) when PARLEY_REDIS_URL is set.
 */
import type { Logger } from 'pino'
import { MemoryPresence, type Presence } from '../cluster/presence.js'
import type { Config } from '../config.js'
import { loadOptionalPackage } from '../lib/optional-package.js'
import type { Limiter } from '../limits/limiter.js'
import { MemoryLimiter } from '../limits/limiter-memory.js'
import type { Broker } from '../realtime/broker.js'
import { MemoryBroker } from '../realtime/broker-memory.js'
import { type Store, openStore } from '../storage/database.js'

export async function openStorage(config: Readonly<Config>, logger: Logger): Promise<Store> {
  return openStore(config.storage, {
    sqliteCacheMb: config.sqliteCacheMb,
    backgroundCheckpoints: { onError: (error) => logger.warn({ err: error }, 'background checkpoints stopped; the database checkpoints by itself') },
  })
}

export async function createBroker(config: Readonly<Config>, logger: Logger): Promise<Broker> {
  const onError = (error: unknown, context: string) => logger.error({ err: error, context }, 'broker error')
  if (!config.redisUrl) return new MemoryBroker({ onError })
  await loadOptionalPackage('ioredis', 'PARLEY_REDIS_URL')
  const { RedisBroker } = await import('../realtime/broker-redis.js')
  return new RedisBroker({ url: config.redisUrl, prefix: config.redisPrefix, onError })
}

/**
 * Who has an open socket, on any node (push goes only to members with none): this node's sockets
 * alone without Redis, every node's with it.
 */
export async function createPresence(config: Readonly<Config>, logger: Logger): Promise<Presence> {
  if (!config.redisUrl) return new MemoryPresence()
  await loadOptionalPackage('ioredis', 'PARLEY_REDIS_URL')
  const { RedisPresence } = await import('../cluster/presence-redis.js')
  return new RedisPresence({ url: config.redisUrl, prefix: config.redisPrefix, onError: (error, context) => logger.error({ err: error, context }, 'presence error') })
}

export interface Limiters {
  /** Keys and users. */
  requests: Limiter
  /** Failed authentications per client address (limits/failed-auth.ts). */
  failedAuth: Limiter
  /** Publishable-key requests per client address. */
  addresses: Limiter
  close(): Promise<void>
}

/**
 * In memory, per-address counts get limiters of their own: a full memory limiter forgets its
 * oldest buckets, and a flood of client addresses must never make it forget a key's or a user's
 * count. Redis forgets nothing on its own, so there they share one connection (bucket names differ).
 */
export async function createLimiters(config: Readonly<Config>, logger: Logger): Promise<Limiters> {
  if (!config.redisUrl) {
    const all = { requests: new MemoryLimiter(), failedAuth: new MemoryLimiter(), addresses: new MemoryLimiter() }
    return { ...all, close: async () => void (await Promise.all(Object.values(all).map((l) => l.close()))) }
  }
  await loadOptionalPackage('ioredis', 'PARLEY_REDIS_URL')
  const { RedisLimiter } = await import('../limits/limiter-redis.js')
  const shared = new RedisLimiter(config.redisUrl, {
    prefix: `${config.redisPrefix}rl:`,
    onError: (error) => logger.error({ err: error }, 'rate limiter error'),
  })
  return { requests: shared, failedAuth: shared, addresses: shared, close: () => shared.close() }
}
