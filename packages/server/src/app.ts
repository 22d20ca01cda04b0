/**
 * The composition root: configuration in, a running Parley out. It reads as the list of steps a
 * node takes to start; each step lives in app/. Every resource is registered for closing the
 * moment it is opened, so a start that fails half-way closes what it opened, and close() shuts
 * down in the reverse order.
 */
import type { FastifyInstance } from 'fastify'
import type { DestinationStream, Logger } from 'pino'
import { buildHttp } from './app/http.js'
import { createBroker, createLimiters, createPresence, openStorage } from './app/infrastructure.js'
import { flushCounters, startJobs } from './app/jobs.js'
import { startRealtime } from './app/realtime.js'
import { type Services, buildAuthenticator, buildDashboardSessions, buildServices, wireEvents } from './app/services.js'
import { type AdminKeySetup, setUpAdminKey } from './auth/admin-key.js'
import type { DashboardSessions } from './auth/dashboard-sessions.js'
import type { Config } from './config.js'
import type { Clock } from './delivery/clock.js'
import { createLogger } from './http/logger.js'
import { Resources } from './lib/resources.js'
import type { Broker } from './realtime/broker.js'
import type { RealtimeGateway } from './realtime/gateway.js'
import type { Store } from './storage/database.js'
import { migrate } from './storage/migrate.js'

export interface ParleyOptions {
  /** Where log lines go (default: stdout). Tests pass a capture stream. */
  logDestination?: DestinationStream
  /** Overrides the broker chosen from configuration (tests join nodes on one in-memory bus). */
  broker?: Broker
  /** Time as the webhook delivery queue sees it (tests move it; default the system clock). */
  clock?: Clock
  /** Sees every HTTP route as it is registered. */
  onRoute?: (route: { method: string | string[]; url: string; config?: unknown }) => void
}

export interface Parley {
  app: FastifyInstance
  store: Store
  logger: Logger
  adminKey: AdminKeySetup
  services: Services & { gateway: RealtimeGateway; broker: Broker; dashboardSessions: DashboardSessions }
  /** Write buffered counters (lastUsedAt, usage) now. */
  flush(): Promise<void>
  /** Stop accepting, flush, close storage. Idempotent. */
  close(): Promise<void>
}

export async function createParley(config: Readonly<Config>, options: ParleyOptions = {}): Promise<Parley> {
  const logOutput = { format: config.logFormat, colors: config.logColors }
  const logger = createLogger(config.logLevel, config.adminKey ? [config.adminKey] : [], options.logDestination, logOutput)
  const resources = new Resources((error, name) => logger.error({ err: error, resource: name }, 'closing failed'))
  try {
    // 1. What the node talks to.
    const store = resources.add('storage', await openStorage(config, logger), (s) => s.close())
    await migrate(store)
    const broker = resources.add('broker', options.broker ?? (await createBroker(config, logger)), (b) => b.close())
    const limiters = resources.add('limiters', await createLimiters(config, logger), (l) => l.close())
    // Closed after the realtime gateway (registered before it): its sockets say they closed first.
    const presence = resources.add('presence', await createPresence(config, logger), (p) => p.close())

    // 2. Stores and services; 3. who hears about what.
    const services = await buildServices(config, store, limiters, presence, logger, options.clock)
    wireEvents(services, logger)
    const flush = flushCounters(services)
    // Closed after the HTTP server and sockets (registered before them): nothing counts after it.
    resources.add('final flush', flush, (f) => f().catch((error) => logger.error({ err: error }, 'final flush failed')))

    // 4. The admin key, generated (and stored) only once everything that can refuse to start has
    // started, so a failed first start never consumes the one showing of the key.
    const adminKey = await setUpAdminKey(store.db, config.adminKey)

    // 5. HTTP and realtime on one server, behind one credential check; 6. periodic jobs.
    // The dashboard's sign-in sessions are one more credential of that check (sealed to the admin key).
    const dashboardSessions = buildDashboardSessions(config, store, services, adminKey.hash)
    const authenticator = buildAuthenticator(services, adminKey.hash, dashboardSessions)
    const app = resources.add('http', await buildHttp({ config, logger, store, broker, services, authenticator, dashboardSessions, onRoute: options.onRoute }), (a) => a.close())
    const gateway = resources.add('realtime', startRealtime(config, services, authenticator, broker, app, logger), (g) => g.close())
    await app.ready()
    startJobs(config, { ...services, dashboardSessions }, resources, logger)

    const all = { ...services, gateway, broker, dashboardSessions }
    return { app, store, logger, adminKey, services: all, flush, close: () => resources.close() }
  } catch (error) {
    await resources.close()
    throw error
  }
}
