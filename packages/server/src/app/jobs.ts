/**
 * Step 6 of the composition root: the periodic work of a running node. Every timer is unref'd
 * (it never keeps the process alive) and registered for closing.
 */
import type { Logger } from 'pino'
import type { DashboardSessions } from '../auth/dashboard-sessions.js'
import type { Config } from '../config.js'
import type { Resources } from '../lib/resources.js'
import type { Services } from './services.js'

const PRUNE_EVERY_MS = 3600_000

/** Writes buffered counters (lastUsedAt, usage) now. */
export function flushCounters(services: Services): () => Promise<void> {
  return async () => {
    await services.lastUsed.flush()
    await services.usage.flush()
  }
}

export function startJobs(config: Readonly<Config>, services: Services & { dashboardSessions: DashboardSessions }, resources: Resources, logger: Logger): void {
  const flush = flushCounters(services)
  let lastPrune = 0
  every(resources, 'counter flush', config.flushIntervalMs, () => {
    flush().catch((error) => logger.warn({ err: error }, 'flush failed; will retry'))
    if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = Date.now()
      services.usage.prune().catch((error) => logger.warn({ err: error }, 'usage pruning failed'))
      services.webhooks.prune().catch((error) => logger.warn({ err: error }, 'webhook log pruning failed'))
      services.push.prune().catch((error) => logger.warn({ err: error }, 'push log pruning failed'))
      services.dashboardSessions.prune().catch((error) => logger.warn({ err: error }, 'dashboard session pruning failed'))
    }
  })
  // Stored events past their retention (API.md §12); stopping waits for a run in progress.
  resources.add('event pruning', services.eventRetention, (retention) => retention.stop()).start()
  // Webhook delivery (fan-out and worker). Closed first: attempts in flight finish (bounded) while
  // storage is still open, and the rest go back to the queue.
  resources.add('webhook delivery', services.webhooks, (webhooks) => webhooks.close()).start()
  // Push delivery likewise (fan-out and worker).
  resources.add('push delivery', services.push, (push) => push.close()).start()
  // Nodes sharing a database without Redis learn of a signing-key rotation within the same
  // freshness bound as key changes (with Redis, the invalidation reaches them at once).
  every(resources, 'signing key reload', Math.max(1000, config.keyCacheTtlMs), () => {
    services.signingKeys.reload().catch((error) => logger.warn({ err: error }, 'signing key reload failed'))
  })
}

function every(resources: Resources, name: string, ms: number, run: () => void): void {
  const timer = setInterval(run, ms)
  timer.unref()
  resources.add(name, timer, clearInterval)
}
