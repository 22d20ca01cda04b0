/**
 * Open sockets per holder (API.md §12): at most `perUser` per end user or visitor and `perKey` per
 * secret key, so one leaked token or key cannot pin thousands of sockets (and their fan-out).
 *
 * Counted per node, in memory: a count of open sockets has to be released when a socket closes,
 * and a shared count (Redis) would be left too high by every node that dies holding sockets, so
 * it would need leases refreshed by the heartbeat — more machinery than the rule is worth. Behind
 * a load balancer a holder may therefore open up to the cap on each node (documented in
 * docs/operations.md).
 */
import { ApiError } from '../core/errors.js'
import type { SocketCaller } from './socket-policy.js'

export interface SocketCapSettings {
  perUser: number
  perKey: number
}

export class SocketCaps {
  private readonly open = new Map<string, number>()

  constructor(private readonly settings: SocketCapSettings) {}

  /** A 429 when the caller already holds its maximum of sockets, else null. */
  refusal(caller: SocketCaller): ApiError | null {
    const { holder, max } = this.holderOf(caller)
    if ((this.open.get(holder) ?? 0) < max) return null
    const who = caller.kind === 'session' ? 'this user' : 'this key'
    return new ApiError('rate_limited', `Too many open sockets for ${who} (at most ${max})`, { headers: { 'retry-after': '10' } })
  }

  /** Counts a socket that just opened; the function returned uncounts it (at most once). */
  take(caller: SocketCaller): () => void {
    const { holder } = this.holderOf(caller)
    this.open.set(holder, (this.open.get(holder) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.open.get(holder) ?? 1) - 1
      if (left > 0) this.open.set(holder, left)
      else this.open.delete(holder)
    }
  }

  private holderOf(caller: SocketCaller): { holder: string; max: number } {
    if (caller.kind === 'session') {
      return { holder: `user:${caller.tenant.id}:${caller.environment}:${caller.userId}`, max: this.settings.perUser }
    }
    return { holder: `key:${caller.key?.id ?? `admin:${caller.tenant.id}:${caller.environment}`}`, max: this.settings.perKey }
  }
}
