/** The counters kept per key and bucket, and how a response adds to them. */
export interface Counters {
  requests: number
  success: number
  clientErrors: number
  serverErrors: number
  rateLimited: number
  latencyMs: number
}

export const emptyCounters = (): Counters => ({ requests: 0, success: 0, clientErrors: 0, serverErrors: 0, rateLimited: 0, latencyMs: 0 })

/** Every authenticated response counts once: 2xx/3xx success, 429 rate-limited, other 4xx, 5xx. */
export function count(into: Counters, status: number, latencyMs: number): void {
  into.requests++
  into.latencyMs += latencyMs
  if (status === 429) into.rateLimited++
  else if (status >= 500) into.serverErrors++
  else if (status >= 400) into.clientErrors++
  else into.success++
}

export function add(into: Counters, from: Counters): void {
  into.requests += from.requests
  into.success += from.success
  into.clientErrors += from.clientErrors
  into.serverErrors += from.serverErrors
  into.rateLimited += from.rateLimited
  into.latencyMs += from.latencyMs
}

export type Granularity = 'minute' | 'hour' | 'day'

/** The start of the bucket holding `epochMs`, as an ISO string (they sort as text). */
export function bucketOf(epochMs: number, granularity: Granularity): string {
  const iso = new Date(epochMs).toISOString()
  if (granularity === 'minute') return `${iso.slice(0, 16)}:00.000Z`
  if (granularity === 'hour') return `${iso.slice(0, 13)}:00:00.000Z`
  return `${iso.slice(0, 10)}T00:00:00.000Z`
}
