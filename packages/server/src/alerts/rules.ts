/**
 * Usage alert rules (API.md §3.1), per tenant environment:
 *  - trafficSpike: a key's requests in the latest minute reach `minRequests` and `factor` times its
 *    average minute over the hour before;
 *  - errorRate: over the last 5 minutes a key made at least `minRequests` requests and at least
 *    `percent` % of them failed (4xx other than 429, and 5xx);
 *  - nearLimit: a key used `percent` % or more of its rate-limit window.
 * Each rule fires at most once per key per hour.
 */
export interface AlertRules {
  trafficSpike?: { factor: number; minRequests: number }
  errorRate?: { percent: number; minRequests: number }
  nearLimit?: { percent: number }
}

export type RuleName = keyof AlertRules

export interface MinuteCounts {
  requests: number
  errors: number
}

/** trafficSpike over minute buckets, oldest first, the last being the latest minute. */
export function isTrafficSpike(rule: NonNullable<AlertRules['trafficSpike']>, minutes: MinuteCounts[]): boolean {
  const latest = minutes[minutes.length - 1]
  if (!latest || latest.requests < rule.minRequests) return false
  const before = minutes.slice(0, -1)
  const baseline = before.reduce((n, m) => n + m.requests, 0) / 60
  return latest.requests >= rule.factor * Math.max(baseline, 1)
}

export function isErrorRate(rule: NonNullable<AlertRules['errorRate']>, lastFive: MinuteCounts[]): boolean {
  const requests = lastFive.reduce((n, m) => n + m.requests, 0)
  const errors = lastFive.reduce((n, m) => n + m.errors, 0)
  return requests >= rule.minRequests && (errors / requests) * 100 >= rule.percent
}

export function isNearLimit(rule: NonNullable<AlertRules['nearLimit']>, used: number, limit: number): boolean {
  return limit > 0 && (used / limit) * 100 >= rule.percent
}
