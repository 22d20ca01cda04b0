/**
 * The rate limiter seam. Two implementations share one conformance suite
 * (test/limits/limiter-conformance.test.ts): limiter-memory.ts for a single node and
 * limiter-redis.ts for a cluster.
 *
 * Algorithm: fixed windows aligned on multiples of `windowSeconds` since the Unix epoch (a 60 s
 * window runs from :00 to :59 of each minute). Chosen over a sliding log or GCRA because it is
 * exact with one counter per bucket (no per-request timestamps), the Redis script stays a handful
 * of commands, `RateLimit-Reset` is simply "seconds to the next boundary", and every node agrees
 * on the boundaries without coordination. The known cost: a caller may burst up to 2×limit
 * across a boundary (limit at the end of one window, limit at the start of the next), which
 * §9 allows ("at most `limit` requests per window").
 */
import { ApiError } from '../core/errors.js'

/** The outcome of one `consume()`; maps one to one onto the RateLimit-* and Retry-After headers. */
export interface LimitDecision {
  /** Whether the request may proceed. A denied request consumed nothing. */
  allowed: boolean
  /** The limit the decision was made against (the `limit` argument). */
  limit: number
  /** Units left in this window after this request; never negative. */
  remaining: number
  /** Whole seconds until the window resets, rounded up: always ≥ 1. */
  resetSeconds: number
  /** 0 when allowed; when denied, whole seconds until the next window (≥ 1). */
  retryAfterSeconds: number
}

/**
 * Counts requests per bucket and window and says whether one more fits.
 *
 * Guarantees, on every implementation:
 * - at most `limit` units are allowed per bucket per window, however many calls race (across
 *   processes too, for shared implementations);
 * - a denied call consumes nothing, so a client that keeps hammering is not locked out longer;
 * - a bucket seen with a different `windowSeconds` starts a fresh window (a key's own rateLimit
 *   replaces the plan default, limit and window together); a different `limit` applies at once
 *   to the units already used in the window;
 * - a call whose `cost` exceeds `limit` is always denied.
 *
 * @example
 * const decision = await limiter.consume(`key:${keyId}`, 60, 60)
 * reply.header('RateLimit-Limit', decision.limit)
 * reply.header('RateLimit-Remaining', decision.remaining)
 * reply.header('RateLimit-Reset', decision.resetSeconds)
 * if (!decision.allowed) throw new ApiError('rate_limited', '…', { headers: { 'retry-after': String(decision.retryAfterSeconds) } })
 */
export interface Limiter {
  /**
   * Takes `cost` units (default 1) from `bucket` if they fit in the current window.
   * Rejects with a RangeError on invalid arguments, and with LimiterUnavailableError when the
   * backing store cannot answer (see limiter-redis.ts for the fail-open option).
   *
   * @param bucket any string naming what is limited, e.g. `key:<keyId>` or `ip-failures:<ip>`
   * @param limit units allowed per window: an integer ≥ 0
   * @param windowSeconds window length: an integer ≥ 1
   * @param cost units this request takes: an integer ≥ 1
   */
  consume(bucket: string, limit: number, windowSeconds: number, cost?: number): Promise<LimitDecision>
  /**
   * The same decision, synchronously: offered by limiters that answer from memory, so the request
   * path can skip a promise. Throws where consume() would reject.
   */
  consumeNow?(bucket: string, limit: number, windowSeconds: number, cost?: number): LimitDecision
  /** Releases timers and connections. consume() after close() rejects. */
  close(): Promise<void>
}

/**
 * The limiter's store did not answer. An ApiError with code `unavailable`, so the problem
 * handler answers 503 with `Retry-After: 1` without any extra mapping; the store's own error
 * (ECONNREFUSED, a timeout, …) is kept as `cause` for the log.
 */
export class LimiterUnavailableError extends ApiError {
  constructor(cause: unknown) {
    super('unavailable', 'The rate limiter is unavailable; retry shortly', { headers: { 'retry-after': '1' } })
    this.name = 'LimiterUnavailableError'
    this.cause = cause
  }
}

/** Returns a message naming the first invalid argument, or null when all are valid. */
export function invalidConsumeArguments(bucket: string, limit: number, windowSeconds: number, cost: number): string | null {
  if (typeof bucket !== 'string' || bucket.length === 0) return 'bucket must be a non-empty string'
  if (!Number.isSafeInteger(limit) || limit < 0) return 'limit must be an integer ≥ 0'
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 1) return 'windowSeconds must be an integer ≥ 1'
  if (!Number.isSafeInteger(cost) || cost < 1) return 'cost must be an integer ≥ 1'
  return null
}

/**
 * Builds the decision both implementations return, from the units used in the window after
 * the call and the milliseconds left in it, so the rounding rules live in one place.
 */
export function toDecision(allowed: boolean, limit: number, used: number, msToReset: number): LimitDecision {
  // Never below 1: a window always has at least 1 ms left, and "reset in 0 s" reads as "now".
  const resetSeconds = Math.max(1, Math.ceil(msToReset / 1000))
  return {
    allowed,
    limit,
    // Clamped: a lowered limit can leave more units used than it now allows.
    remaining: used >= limit ? 0 : limit - used,
    resetSeconds,
    retryAfterSeconds: allowed ? 0 : resetSeconds,
  }
}
