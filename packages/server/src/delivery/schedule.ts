/**
 * Retry schedules as data: each consumer of the queue (webhooks, push) states its delays, and the
 * queue works out when the next attempt is due, with jitter so that receivers that fail together
 * are not retried together, and the receiver's Retry-After honoured.
 */

export interface RetrySchedule {
  /** The delay before each retry: the n-th entry follows the n-th failed attempt. Its length is the number of retries. */
  delaysMs: readonly number[]
  /** Each delay is moved at random by up to this fraction of it, either way. */
  jitter: number
  /** The longest Retry-After obeyed; a receiver asking for more waits this long. */
  maxRetryAfterMs: number
}

/**
 * Milliseconds from a failed attempt (the `attempt`-th, counting from 1) to the next one, or null
 * when the schedule has no retry left. A Retry-After is a floor: the attempt waits at least that
 * long, and never less than the schedule says.
 */
export function nextDelayMs(schedule: RetrySchedule, attempt: number, retryAfterMs: number | null, random: () => number = Math.random): number | null {
  const base = schedule.delaysMs[attempt - 1]
  if (base === undefined) return null
  const jittered = Math.round(base * (1 + schedule.jitter * (2 * random() - 1)))
  return retryAfterMs === null ? jittered : Math.max(jittered, Math.min(retryAfterMs, schedule.maxRetryAfterMs))
}

/** A Retry-After header (delay-seconds or an HTTP-date) in milliseconds from `now`; null when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now: number): number | null {
  if (header === undefined) return null
  const text = header.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
