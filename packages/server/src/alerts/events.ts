/** The domain event of usage alerts (API.md §3.1), with its data. */

/** A rule that fired, with the figures that made it fire. */
export type AlertFiring =
  | { rule: 'trafficSpike'; requestsLastMinute: number }
  | { rule: 'errorRate'; requests: number; errors: number }
  | { rule: 'nearLimit'; used: number; limit: number }

declare module '../events/envelope.js' {
  interface EventDataByType {
    'key.alert': { alertId: string; keyId: string } & AlertFiring
  }
}
