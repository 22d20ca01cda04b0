/**
 * The failed-authentication throttle (API.md §1.5, §12): failures are counted per client address
 * (IPv6 by /64), never against a tenant, and a client at its threshold is refused with 429 for the
 * rest of the window before any credential it sends is read — no storage lookup, no signature
 * check. The refusal is decided from this node's memory, so it costs no round trip: a node learns
 * that an address reached the threshold from its own count (shared through Redis when the
 * limiter is), so each node verifies at most one more credential from that address per window.
 *
 * The counts live in their own limiter (app.ts), so a flood of failing addresses can only evict
 * other failure counts, never a key's or user's request count.
 */
import { ApiError } from '../core/errors.js'
import { addressGroup } from '../lib/client-address.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import { TtlCache } from '../lib/ttl-cache.js'
import type { LimitDecision, Limiter } from './limiter.js'

const WINDOW_SECONDS = 60
/** Addresses remembered as over the threshold; the oldest is forgotten first (lenient). */
const MAX_BLOCKED = 100_000

/** The FailureThrottle of auth/credentials.ts (limits/ sits below auth/, so it matches it by shape). */
export class FailedAuthThrottle {
  /** Address group → Unix ms at which its window ends. */
  private readonly blocked = new TtlCache<string, number>(MAX_BLOCKED, WINDOW_SECONDS * 1000)

  constructor(
    private readonly limiter: Limiter,
    private readonly perMinute: number,
    private readonly onLimited: () => void = () => {},
  ) {}

  refusal(address: string): ApiError | null {
    if (this.blocked.size === 0) return null
    const group = addressGroup(address)
    const until = this.blocked.get(group)
    if (until === undefined) return null
    const left = until - Date.now()
    if (left <= 0) {
      this.blocked.delete(group)
      return null
    }
    this.onLimited()
    return tooMany(Math.ceil(left / 1000))
  }

  failed(address: string, error: ApiError): MaybePromise<ApiError> {
    const group = addressGroup(address)
    return andThen(this.consume(`authfail:${group}`), (decision) => {
      // At the threshold: this failure is answered as usual, everything after it waits out the window.
      if (decision.remaining === 0) this.blocked.set(group, Date.now() + decision.resetSeconds * 1000)
      if (decision.allowed) return error
      this.onLimited()
      return tooMany(decision.retryAfterSeconds)
    })
  }

  private consume(bucket: string): MaybePromise<LimitDecision> {
    return this.limiter.consumeNow
      ? this.limiter.consumeNow(bucket, this.perMinute, WINDOW_SECONDS)
      : this.limiter.consume(bucket, this.perMinute, WINDOW_SECONDS)
  }
}

function tooMany(retryAfterSeconds: number): ApiError {
  return new ApiError('rate_limited', 'Too many failed authentications from this address', {
    headers: { 'retry-after': String(Math.max(1, retryAfterSeconds)) },
  })
}
