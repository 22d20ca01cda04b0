/**
 * The in-memory limiter: exact for one process, which is all a single-node install needs.
 *
 * Hot path: one Map lookup, a little arithmetic and an in-place update; no allocation but the
 * decision itself. The bucket object is reused across windows so a steady client costs nothing
 * beyond its first request.
 *
 * Bounded memory: a timer sweeps buckets whose window has ended, and `maxBuckets` caps the
 * map. At the cap, a new bucket first triggers a sweep (at most once per second) and then
 * evicts the buckets whose windows started longest ago (a bucket is re-inserted at each new
 * window, so the Map's insertion order is window-start order). Evicting a live bucket forgets
 * its count, i.e. errs on the lenient side: preferable to refusing new callers, which would let
 * a flood of fresh IPs or keys lock everyone else out.
 */
import { invalidConsumeArguments, toDecision, type LimitDecision, type Limiter } from './limiter.js'

export interface MemoryLimiterOptions {
  /** Most buckets kept at once (default 100,000: roughly 15 MB). */
  maxBuckets?: number
  /** How often ended windows are swept (default 10 s). */
  sweepIntervalMs?: number
}

interface Bucket {
  windowMs: number
  /** Unix ms at which the current window ends. */
  windowEnd: number
  used: number
}

const MIN_MS_BETWEEN_FORCED_SWEEPS = 1_000

export class MemoryLimiter implements Limiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly maxBuckets: number
  private readonly sweeper: NodeJS.Timeout
  private lastSweep = 0
  private closed = false

  constructor(options: MemoryLimiterOptions = {}) {
    this.maxBuckets = Math.max(1, options.maxBuckets ?? 100_000)
    this.sweeper = setInterval(() => this.sweep(Date.now()), options.sweepIntervalMs ?? 10_000)
    // A housekeeping timer must never keep the process alive on its own.
    this.sweeper.unref()
  }

  /** Buckets currently held (for tests and metrics). */
  get size(): number {
    return this.buckets.size
  }

  consume(bucketName: string, limit: number, windowSeconds: number, cost = 1): Promise<LimitDecision> {
    try {
      return Promise.resolve(this.consumeNow(bucketName, limit, windowSeconds, cost))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  consumeNow(bucketName: string, limit: number, windowSeconds: number, cost = 1): LimitDecision {
    if (this.closed) throw new Error('MemoryLimiter is closed')
    const invalid = invalidConsumeArguments(bucketName, limit, windowSeconds, cost)
    if (invalid) throw new RangeError(invalid)

    const now = Date.now()
    const windowMs = windowSeconds * 1000
    let bucket = this.buckets.get(bucketName)
    if (bucket === undefined) {
      bucket = this.add(bucketName, now)
      this.startWindow(bucket, windowMs, now)
    } else if (now >= bucket.windowEnd || bucket.windowMs !== windowMs) {
      // Move it to the back of the Map: insertion order stays window-start order for eviction.
      this.buckets.delete(bucketName)
      this.buckets.set(bucketName, bucket)
      this.startWindow(bucket, windowMs, now)
    }

    const allowed = bucket.used + cost <= limit
    if (allowed) bucket.used += cost
    return toDecision(allowed, limit, bucket.used, bucket.windowEnd - now)
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.sweeper)
    this.buckets.clear()
  }

  private startWindow(bucket: Bucket, windowMs: number, now: number): void {
    bucket.windowMs = windowMs
    bucket.windowEnd = (Math.floor(now / windowMs) + 1) * windowMs
    bucket.used = 0
  }

  private add(bucketName: string, now: number): Bucket {
    if (this.buckets.size >= this.maxBuckets) this.makeRoom(now)
    const bucket: Bucket = { windowMs: 0, windowEnd: 0, used: 0 }
    this.buckets.set(bucketName, bucket)
    return bucket
  }

  private makeRoom(now: number): void {
    // A full scan per new bucket would make a flood of new callers quadratic; once a second is enough.
    if (now - this.lastSweep >= MIN_MS_BETWEEN_FORCED_SWEEPS) this.sweep(now)
    for (const name of this.buckets.keys()) {
      if (this.buckets.size < this.maxBuckets) break
      this.buckets.delete(name)
    }
  }

  private sweep(now: number): void {
    this.lastSweep = now
    for (const [name, bucket] of this.buckets) {
      if (now >= bucket.windowEnd) this.buckets.delete(name)
    }
  }
}
