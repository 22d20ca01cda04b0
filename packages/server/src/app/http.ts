/**
 * Step 5 of the composition root: the Fastify app. Cross-cutting hooks first (request id,
 * problem+json, metrics and usage, authentication, CORS), then every route plugin, registered
 * explicitly so the whole API surface is listed here.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { alertRoutes } from '../alerts/routes.js'
import type { Authenticator } from '../auth/credentials.js'
import type { DashboardSessions } from '../auth/dashboard-sessions.js'
import type { Config } from '../config.js'
import { conversationRoutes } from '../conversations/routes.js'
import { dashboardAssets, defaultDashboardDir, loadDashboard } from '../dashboard/assets.js'
import { dashboardRoutes } from '../dashboard/routes.js'
import { registerAuthentication } from '../http/authenticate.js'
import { capConnectionsPerAddress, timeoutOptions } from '../http/connections.js'
import { registerCors } from '../http/cors.js'
import { RequestLogController } from '../http/logger.js'
import { clientErrorHandler, registerProblemHandling } from '../http/problem.js'
import { requestIdOf } from '../http/request-id.js'
import { validatorCompiler } from '../http/validation.js'
import { trustedHops } from '../lib/client-address.js'
import { identityRoutes } from '../identity/routes.js'
import { keyRoutes } from '../keys/routes.js'
import { leakRoutes } from '../leaks/routes.js'
import { meRoutes } from '../me/routes.js'
import { messageRoutes } from '../messages/routes.js'
import { metricsRoutes } from '../metrics/routes.js'
import { registerOpenApi } from '../openapi/openapi.js'
import type { Broker } from '../realtime/broker.js'
import type { Store } from '../storage/database.js'
import { systemRoutes } from '../system/routes.js'
import { tenantRoutes } from '../tenants/routes.js'
import { tokenRoutes } from '../tokens/routes.js'
import { usageRoutes } from '../usage/routes.js'
import { userRoutes } from '../users/routes.js'
import { webhookRoutes } from '../webhooks/routes.js'
import { pushRoutes } from '../push/routes.js'
import type { Services } from './services.js'

export interface HttpDeps {
  config: Readonly<Config>
  logger: Logger
  store: Store
  broker: Broker
  services: Services
  /** The one credential check (auth/credentials.ts), shared with realtime. */
  authenticator: Authenticator
  /** Sees every route as it is registered (the route table test reads the routes from here). */
  onRoute?: (route: { method: string | string[]; url: string; config?: unknown }) => void
  /** The dashboard's sign-in sessions (their routes; the authenticator checks their cookie). */
  dashboardSessions: DashboardSessions
}

export async function buildHttp({ config, logger, store, broker, services, authenticator, onRoute, dashboardSessions }: HttpDeps): Promise<FastifyInstance> {
  const { metrics, usage, limits, lastUsed } = services
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLogController(),
    genReqId: requestIdOf,
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    // Path ids may be 128 characters (tenant-chosen ids); longer ones must reach validation (400).
    routerOptions: { maxParamLength: 512 },
    clientErrorHandler: clientErrorHandler(config.publicUrl),
    // A hop count goes in as a function: Fastify trusts no hop at all when given a bare number.
    trustProxy: typeof config.trustProxy === 'number' ? trustedHops(config.trustProxy) : config.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...timeoutOptions(config),
  }).withTypeProvider<TypeBoxTypeProvider>()
  capConnectionsPerAddress(app.server, config.maxConnectionsPerIp)
  if (onRoute) app.addHook('onRoute', onRoute)

  app.setValidatorCompiler(validatorCompiler())
  app.removeContentTypeParser('text/plain')
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  registerProblemHandling(app, config.publicUrl)
  // Usage counts every response of a request that authenticated with a key, whatever its status:
  // also when the route then refused the key (scope, origin, key type, tenant header).
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime)
    const caller = request.authenticatedAs
    if (caller && (caller.kind === 'secret' || caller.kind === 'publishable') && caller.key) {
      usage.record(caller.key.id, caller.tenant.id, caller.environment, reply.statusCode, reply.elapsedTime)
    }
    done()
  })
  registerAuthentication(app, {
    authenticator,
    ownOrigin: new URL(config.publicUrl).origin,
    onSuccess: (request, reply, caller) => {
      if ((caller.kind === 'secret' || caller.kind === 'publishable') && caller.key) lastUsed.note(caller.key.id)
      return limits.admit(caller, reply, request.ip)
    },
  })
  registerCors(app)
  await registerOpenApi(app, config.publicUrl)

  const readiness = [{ name: 'storage', check: store.ping }]
  if (broker.ping) readiness.push({ name: 'redis', check: () => broker.ping!() })
  await app.register(systemRoutes, { readiness })
  await app.register(metricsRoutes, { metrics, isPublic: config.metricsPublic })
  await app.register(tenantRoutes, { tenants: services.tenants })
  await app.register(keyRoutes, { keys: services.keys })
  await app.register(meRoutes)
  await app.register(userRoutes, { users: services.users })
  await app.register(tokenRoutes, { tokens: services.tokenService, ring: services.signingKeys, invalidations: services.invalidations })
  await app.register(identityRoutes, { identity: services.identity })
  await app.register(conversationRoutes, { conversations: services.conversations, reader: services.reader })
  await app.register(messageRoutes, { messages: services.messages })
  await app.register(usageRoutes, { usage: services.usageService })
  await app.register(alertRoutes, { store: services.alertStore, evaluator: services.alerts })
  await app.register(webhookRoutes, { webhooks: services.webhooks.service })
  await app.register(pushRoutes, { push: services.push.service })
  await app.register(dashboardRoutes, { sessions: dashboardSessions, secureCookie: config.publicUrl.startsWith('https:') })

  // The web console, outside /v1: its built files, read once now.
  const dashboardDir = config.dashboardDir ?? defaultDashboardDir()
  const dashboardFiles = loadDashboard(dashboardDir)
  if (!dashboardFiles) logger.warn({ dashboardDir }, 'the dashboard is not built (run npm run build): /dashboard answers 503')
  await app.register(dashboardAssets, { files: dashboardFiles })
  await app.register(leakRoutes, { leaks: services.leaks, reporterKeys: services.reporterKeys, throttle: services.failedAuth })
  return app
}
