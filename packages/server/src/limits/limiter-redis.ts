/**
 * The Redis limiter: one counter per bucket shared by every node, so a key's limit holds for the
 * whole cluster. Same fixed-window semantics as the memory limiter (see limiter.ts).
 *
 * Exact under concurrency: the read-check-increment runs as one Lua script, which Redis executes
 * atomically. The window is computed from Redis's own clock (TIME), not the caller's, so nodes
 * with skewed clocks still agree on where windows start. The script touches only the key it is
 * given, so it also runs on Redis Cluster.
 *
 * Failure policy: by default consume() rejects with LimiterUnavailableError (→ 503 with
 * `Retry-After: 1`) when Redis does not answer, because §9 promises "at most `limit` requests"
 * and a silent fail-open would break that promise for every tenant at once. With
 * `failOpen: true` the operator chooses availability instead: requests are allowed unmetered
 * while Redis is away, and each failure goes to `onError` so the outage is still visible.
 *
 * Load this module with a dynamic import only when Redis is configured, so single-node
 * installations never load ioredis.
 */
import { createHash } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import { invalidConsumeArguments, LimiterUnavailableError, toDecision, type LimitDecision, type Limiter } from './limiter.js'

export interface RedisLimiterOptions {
  /** Prepended to every bucket's key, so several deployments can share one Redis (default `parley:rl:`). */
  prefix?: string
  /** Allow requests when Redis cannot answer, instead of rejecting (default false; see above). */
  failOpen?: boolean
  /** Receives connection errors and, with failOpen, every consume() that Redis did not answer. */
  onError?: (error: unknown, context: string) => void
  /**
   * How long a consume() may wait for Redis before it fails (default 1,000 ms). Applies only to
   * the connection this limiter opens from a URL; a client you pass in keeps its own settings.
   */
  timeoutMs?: number
  /** Extra ioredis options for the connection opened from a URL. */
  redisOptions?: RedisOptions
}

/**
 * KEYS[1] the bucket; ARGV limit, window length (ms), cost.
 * Returns { allowed (0|1), units used after the call, ms until the window ends }.
 * The hash stores the window's end and length so a stale count (or one kept under another window
 * length) is never read as current, whatever the key's TTL does; the TTL only frees memory.
 * Numbers are written with %d because Lua would otherwise format them with 14 significant digits.
 */
const CONSUME_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local limit = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local windowEnd = (math.floor(now / windowMs) + 1) * windowMs
local msToReset = windowEnd - now
local state = redis.call('HMGET', KEYS[1], 'end', 'len', 'used')
local used = 0
if tonumber(state[1]) == windowEnd and tonumber(state[2]) == windowMs then used = tonumber(state[3]) end
if used + cost > limit then return { 0, used, msToReset } end
used = used + cost
redis.call('HSET', KEYS[1], 'end', string.format('%d', windowEnd), 'len', string.format('%d', windowMs), 'used', string.format('%d', used))
redis.call('PEXPIRE', KEYS[1], msToReset)
return { 1, used, msToReset }
`
const CONSUME_SHA = createHash('sha1').update(CONSUME_SCRIPT).digest('hex')

type ScriptReply = [allowed: number, used: number, msToReset: number]

const CLOSE_GRACE_MS = 1_000
const ignore = () => {}

export class RedisLimiter implements Limiter {
  readonly prefix: string
  private readonly redis: Redis
  /** Only a connection we opened is ours to close. */
  private readonly ownsConnection: boolean
  private readonly failOpen: boolean
  private readonly onError: (error: unknown, context: string) => void
  private closed = false

  /**
   * @param redis an ioredis client (shared, left open by close(); its `keyPrefix`, if any, is
   *   applied before ours) or a `redis://` / `rediss://` URL to open a dedicated connection.
   */
  constructor(redis: Redis | string, options: RedisLimiterOptions = {}) {
    this.prefix = options.prefix ?? 'parley:rl:'
    this.failOpen = options.failOpen ?? false
    this.onError = options.onError ?? ignore
    this.ownsConnection = typeof redis === 'string'
    this.redis = typeof redis === 'string' ? this.connect(redis, options) : redis
  }

  async consume(bucket: string, limit: number, windowSeconds: number, cost = 1): Promise<LimitDecision> {
    if (this.closed) throw new Error('RedisLimiter is closed')
    const invalid = invalidConsumeArguments(bucket, limit, windowSeconds, cost)
    if (invalid) throw new RangeError(invalid)

    const windowMs = windowSeconds * 1000
    let reply: ScriptReply
    try {
      reply = await this.run(this.prefix + bucket, limit, windowMs, cost)
    } catch (error) {
      if (!this.failOpen) throw new LimiterUnavailableError(error)
      this.onError(error, `rate limit for ${bucket} not checked (failing open)`)
      // Still deny what no window could allow; otherwise treat the call as the window's first.
      const fits = cost <= limit
      return toDecision(fits, limit, fits ? cost : 0, windowMs - (Date.now() % windowMs))
    }
    const [allowed, used, msToReset] = reply
    return toDecision(allowed === 1, limit, used, msToReset)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.ownsConnection) await quitGracefully(this.redis)
  }

  /** EVALSHA first (the script's body is sent once per Redis restart), EVAL when Redis lacks it. */
  private async run(key: string, limit: number, windowMs: number, cost: number): Promise<ScriptReply> {
    try {
      return (await this.redis.evalsha(CONSUME_SHA, 1, key, limit, windowMs, cost)) as ScriptReply
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error
      return (await this.redis.eval(CONSUME_SCRIPT, 1, key, limit, windowMs, cost)) as ScriptReply
    }
  }

  private connect(url: string, options: RedisLimiterOptions): Redis {
    const connection = new Redis(url, {
      // Fail a request fast instead of holding it while Redis is away: the caller answers 503
      // (or fails open) and the client retries. commandTimeout also covers commands queued
      // while reconnecting; maxRetriesPerRequest drops that queue after one failed reconnect,
      // so a backlog of stale consumes cannot run (and spend budgets) once Redis is back.
      commandTimeout: options.timeoutMs ?? 1_000,
      maxRetriesPerRequest: 1,
      ...options.redisOptions,
      connectionName: `${this.prefix}limiter`.replace(/\s/g, '_'),
    })
    // Without an 'error' listener a connection failure surfaces as an unhandled error event.
    connection.on('error', (error) => {
      if (!this.closed) this.onError(error, 'redis limiter connection')
    })
    return connection
  }
}

/** QUIT lets pending commands finish; an unreachable Redis must not hold shutdown hostage. */
async function quitGracefully(connection: Redis): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_GRACE_MS)
  })
  await Promise.race([connection.quit().catch(ignore), timeout])
  clearTimeout(timer)
  connection.disconnect()
}
