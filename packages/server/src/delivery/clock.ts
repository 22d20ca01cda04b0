/**
 * Time as the delivery queue sees it. Injected, so that tests can move it: retries hours apart
 * then run in milliseconds, and nothing in the queue reads Date.now() behind the clock's back.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export const isoAt = (ms: number): string => new Date(ms).toISOString()
