/**
 * Rate limits on the request path (API.md §0.3, §1.5, §9, §12):
 *  - a key: its own `rateLimit`, else the default of its type (limits/plan-rules.ts);
 *  - a publishable key, which is public: also per (key, client address), so one client cannot
 *    spend the quota every visitor of the tenant shares;
 *  - a session token: a per-user request limit, and a separate one for message sends;
 *  - the admin key is not limited. (Failed authentications: limits/failed-auth.ts.)
 * Every authenticated response carries RateLimit-Limit/Remaining/Reset; a 429 adds Retry-After.
 * With in-memory limiters the whole check is synchronous.
 */
import type { FastifyReply } from 'fastify'
import type { Caller, PublishableCaller, SecretCaller, SessionCaller } from '../core/caller.js'
import { ApiError } from '../core/errors.js'
import type { RateLimit } from '../core/tenant.js'
import { addressGroup } from '../lib/client-address.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import type { LimitDecision, Limiter } from '../limits/limiter.js'
import { type Plans, keyRateLimit } from '../limits/plan-rules.js'

export interface RateLimitSettings {
  plans: Plans
  userRequests: RateLimit
  userMessages: RateLimit
  /** Requests per publishable key and client address. */
  publishablePerAddress: RateLimit
}

export type LimitReason = 'key' | 'key-address' | 'user' | 'messages' | 'ip'

export interface RateLimitObservers {
  limited(reason: LimitReason): void
  /** After every key decision (near-limit alerts). */
  keyDecision?(keyId: string, caller: SecretCaller | PublishableCaller, decision: LimitDecision): void
}

export class RequestLimits {
  /**
   * @param limiter keys and users
   * @param addressLimiter per-address buckets, apart (in memory) so that a flood of client
   *   addresses can never evict a key's or a user's count
   */
  constructor(
    private readonly limiter: Limiter,
    private readonly addressLimiter: Limiter,
    private readonly settings: RateLimitSettings,
    private readonly observers: RateLimitObservers,
  ) {}

  /** Counts an authenticated request from `address`; sets the headers, or throws 429. */
  admit(caller: Caller, reply: FastifyReply, address: string): MaybePromise<void> {
    if (caller.kind === 'admin' || ((caller.kind === 'secret' || caller.kind === 'publishable') && caller.key === null)) return
    if (caller.kind === 'session') {
      return andThen(consume(this.limiter, userBucket('user', caller), this.settings.userRequests), (decision) => this.apply(decision, reply, 'user'))
    }
    const key = caller.key!
    const countKey = () =>
      andThen(consume(this.limiter, `key:${key.id}`, keyRateLimit(key, caller.tenant, this.settings.plans)), (decision) => {
        this.observers.keyDecision?.(key.id, caller, decision)
        return decision
      })
    if (caller.kind === 'secret') return andThen(countKey(), (decision) => this.apply(decision, reply, 'key'))
    // The client's own budget first: a client over it never spends the key's shared one.
    const bucket = `pk:${key.id}:${addressGroup(address)}`
    return andThen(consume(this.addressLimiter, bucket, this.settings.publishablePerAddress), (perAddress) => {
      if (!perAddress.allowed) return this.apply(perAddress, reply, 'key-address')
      return andThen(countKey(), (perKey) => {
        const binding = !perKey.allowed || perKey.remaining < perAddress.remaining ? perKey : perAddress
        this.apply(binding, reply, 'key')
      })
    })
  }

  /** Message sends by end users have their own budget (REST and realtime alike). */
  admitMessage(caller: Caller): MaybePromise<void> {
    if (caller.kind !== 'session') return
    return andThen(consume(this.limiter, userBucket('messages', caller), this.settings.userMessages), (decision) => {
      if (decision.allowed) return
      this.observers.limited('messages')
      throw tooMany(decision, 'Too many messages; slow down')
    })
  }

  /** Headers of the binding decision (the one with the fewest requests left); 429 when it refuses. */
  private apply(decision: LimitDecision, reply: FastifyReply, reason: LimitReason): void {
    reply.header('ratelimit-limit', decision.limit)
    reply.header('ratelimit-remaining', decision.remaining)
    reply.header('ratelimit-reset', decision.resetSeconds)
    if (decision.allowed) return
    this.observers.limited(reason)
    throw tooMany(decision, 'Rate limit exceeded')
  }
}

function consume(limiter: Limiter, bucket: string, rule: RateLimit): MaybePromise<LimitDecision> {
  return limiter.consumeNow ? limiter.consumeNow(bucket, rule.limit, rule.windowSeconds) : limiter.consume(bucket, rule.limit, rule.windowSeconds)
}

const userBucket = (kind: string, caller: SessionCaller) => `${kind}:${caller.tenant.id}:${caller.environment}:${caller.userId}`

function tooMany(decision: LimitDecision, detail: string): ApiError {
  return new ApiError('rate_limited', detail, { headers: { 'retry-after': String(Math.max(1, decision.retryAfterSeconds)) } })
}
