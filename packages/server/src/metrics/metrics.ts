/**
 * Prometheus metrics (GET /metrics). One registry per Parley instance, so several instances in
 * one process (tests) never mix their figures.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export class Metrics {
  readonly registry = new Registry()
  readonly requests = new Counter({
    name: 'parley_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  })
  readonly latency = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  })
  readonly authFailures = new Counter({
    name: 'parley_auth_failures_total',
    help: 'Failed authentications by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })
  readonly rateLimited = new Counter({
    name: 'parley_rate_limited_total',
    help: 'Requests answered 429',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })

  /** Read at scrape time; the realtime gateway, built after the metrics, sets it. */
  private openSockets: () => number = () => 0

  constructor() {
    const sockets = () => this.openSockets()
    new Gauge({
      name: 'parley_realtime_open_sockets',
      help: 'Authenticated WebSocket connections on this node',
      registers: [this.registry],
      collect() {
        this.set(sockets())
      },
    })
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' })
  }

  countSocketsWith(source: () => number): void {
    this.openSockets = source
  }

  /** Called once per response. Unmatched requests share one route label, so labels stay bounded. */
  observe(route: string | undefined, method: string, status: number, elapsedMs: number): void {
    const label = route ?? 'unmatched'
    this.requests.inc({ route: label, method, status: String(status) })
    this.latency.observe({ route: label, method }, elapsedMs / 1000)
  }
}
