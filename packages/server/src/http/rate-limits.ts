/**
 * Rate limits on the request path (API.md §0.3, §1.5, §9):
 *  - a key: its own `rateLimit`, else the tenant's (set by the operator), else the plan's;
 *  - a session token: a per-user request limit, and a separate one for message sends;
 *  - failed authentications: counted per client IP, never against a tenant, 429 past the threshold;
 *  - the admin key is not limited.
 * Every authenticated response carries RateLimit-Limit/Remaining/Reset; a 429 adds Retry-After.
 * With an in-memory limiter the whole check is synchronous.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Caller, SessionCaller } from '../auth/caller.js'
import type { PlanConfig } from '../config.js'
import { ApiError } from '../errors.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import type { LimitDecision, Limiter } from '../limits/limiter.js'
import type { RateLimit } from '../tenants/model.js'

export interface RateLimitSettings {
  plans: Record<string, PlanConfig>
  userRequests: RateLimit
  userMessages: RateLimit
  authFailuresPerMinute: number
}

export interface RateLimitObservers {
  limited(reason: 'key' | 'user' | 'messages' | 'ip'): void
  /** After every key decision (near-limit alerts). */
  keyDecision?(keyId: string, caller: Caller & { kind: 'secret' | 'publishable' }, decision: LimitDecision): void
}

export class RequestLimits {
  constructor(
    private readonly limiter: Limiter,
    private readonly settings: RateLimitSettings,
    private readonly observers: RateLimitObservers,
  ) {}

  /** Counts an authenticated request; sets the headers, or throws 429. */
  admit(caller: Caller, reply: FastifyReply): MaybePromise<void> {
    if (caller.kind === 'admin' || ((caller.kind === 'secret' || caller.kind === 'publishable') && caller.key === null)) return
    if (caller.kind === 'session') {
      const rule = this.settings.userRequests
      return andThen(this.consume(userBucket('user', caller), rule), (decision) => this.apply(decision, reply, 'user'))
    }
    const key = caller.key!
    const plan = this.settings.plans[caller.tenant.plan] ?? this.settings.plans.free!
    const rule = key.rateLimit ?? caller.tenant.rateLimit ?? plan.rateLimit
    return andThen(this.consume(`key:${key.id}`, rule), (decision) => {
      this.observers.keyDecision?.(key.id, caller, decision)
      this.apply(decision, reply, 'key')
    })
  }

  /** Message sends by end users have their own budget (REST and realtime alike). */
  admitMessage(caller: Caller): MaybePromise<void> {
    if (caller.kind !== 'session') return
    return andThen(this.consume(userBucket('messages', caller), this.settings.userMessages), (decision) => {
      if (decision.allowed) return
      this.observers.limited('messages')
      throw tooMany(decision, 'Too many messages; slow down')
    })
  }

  /** After a failed authentication: the error to send (429 once the IP is past its threshold). */
  afterFailure(request: FastifyRequest, error: ApiError): MaybePromise<ApiError> {
    const rule = { limit: this.settings.authFailuresPerMinute, windowSeconds: 60 }
    return andThen(this.consume(`authfail:${request.ip}`, rule), (decision) => {
      if (decision.allowed) return error
      this.observers.limited('ip')
      return tooMany(decision, 'Too many failed authentications from this address')
    })
  }

  private consume(bucket: string, rule: RateLimit): MaybePromise<LimitDecision> {
    return this.limiter.consumeNow
      ? this.limiter.consumeNow(bucket, rule.limit, rule.windowSeconds)
      : this.limiter.consume(bucket, rule.limit, rule.windowSeconds)
  }

  private apply(decision: LimitDecision, reply: FastifyReply, reason: 'key' | 'user'): void {
    reply.header('ratelimit-limit', decision.limit)
    reply.header('ratelimit-remaining', decision.remaining)
    reply.header('ratelimit-reset', decision.resetSeconds)
    if (decision.allowed) return
    this.observers.limited(reason)
    throw tooMany(decision, 'Rate limit exceeded')
  }
}

const userBucket = (kind: string, caller: SessionCaller) => `${kind}:${caller.tenant.id}:${caller.environment}:${caller.userId}`

function tooMany(decision: LimitDecision, detail: string): ApiError {
  return new ApiError('rate_limited', detail, { headers: { 'retry-after': String(Math.max(1, decision.retryAfterSeconds)) } })
}
