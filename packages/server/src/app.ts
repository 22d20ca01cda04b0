/**
 * The composition root: configuration in, a running Parley out. Picks the storage engine, builds
 * the services, and registers every HTTP plugin and route explicitly, in one readable place.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { DestinationStream, Logger } from 'pino'
import { AlertEvaluator } from './alerts/evaluator.js'
import { alertRoutes } from './alerts/routes.js'
import { AlertStore } from './alerts/store.js'
import { type AdminKeySetup, setUpAdminKey } from './auth/admin-key.js'
import { KeyVerifier } from './auth/api-keys.js'
import { Kek } from './auth/kek.js'
import { LastUsedTracker } from './auth/last-used.js'
import { SessionTokens } from './auth/session-tokens.js'
import { SigningKeyRing } from './auth/signing-keys.js'
import { Invalidations } from './cluster/invalidations.js'
import type { Config } from './config.js'
import { conversationRoutes } from './conversations/routes.js'
import { ConversationReader } from './conversations/reader.js'
import { ConversationService } from './conversations/service.js'
import { ConversationStore } from './conversations/store.js'
import { registerOpenApi } from './docs/openapi.js'
import { EventBus } from './events/bus.js'
import { UnitOfWork } from './events/unit-of-work.js'
import { registerAuthentication } from './http/authenticate.js'
import { registerCors } from './http/cors.js'
import { RequestLogController, createLogger } from './http/logger.js'
import { clientErrorHandler, registerProblemHandling } from './http/problem.js'
import { requestIdOf } from './http/request-id.js'
import { validatorCompiler } from './http/validation.js'
import { identityRoutes } from './identity/routes.js'
import { IdentityService } from './identity/service.js'
import { keyRoutes } from './keys/routes.js'
import { KeyService } from './keys/service.js'
import { KeyStore } from './keys/store.js'
import { meRoutes } from './me/routes.js'
import { Metrics } from './metrics/metrics.js'
import { metricsRoutes } from './metrics/routes.js'
import type { Broker } from './realtime/broker.js'
import { MemoryBroker } from './realtime/broker-memory.js'
import type { RealtimeGateway } from './realtime/gateway.js'
import { createRealtime } from './realtime/setup.js'
import { messageRoutes } from './messages/routes.js'
import { HistoryCache } from './messages/history-cache.js'
import { HistoryReader } from './messages/history-reader.js'
import { MessageService } from './messages/service.js'
import { MessageStore } from './messages/store.js'
import { MessageWriter } from './messages/writer.js'
import { type Store, openStore } from './storage/database.js'
import { migrate } from './storage/migrate.js'
import { systemRoutes } from './system/routes.js'
import { tenantRoutes } from './tenants/routes.js'
import { TenantService } from './tenants/service.js'
import { TenantStore } from './tenants/store.js'
import { tokenRoutes } from './tokens/routes.js'
import { RequestLimits } from './http/rate-limits.js'
import type { Limiter } from './limits/limiter.js'
import { MemoryLimiter } from './limits/limiter-memory.js'
import { UsageRecorder } from './usage/recorder.js'
import { usageRoutes } from './usage/routes.js'
import { UsageService } from './usage/service.js'
import { UsageStore } from './usage/store.js'
import { userRoutes } from './users/routes.js'
import { UserService } from './users/service.js'
import { UserStore } from './users/store.js'
import { UserCache } from './users/user-cache.js'

export interface ParleyOptions {
  /** Where log lines go (default: stdout). Tests pass a capture stream. */
  logDestination?: DestinationStream
  /** Overrides the broker chosen from configuration (tests join nodes on one in-memory bus). */
  broker?: Broker
}

export interface Parley {
  app: FastifyInstance
  store: Store
  logger: Logger
  adminKey: AdminKeySetup
  services: Services
  /** Write buffered counters (lastUsedAt, usage) now. */
  flush(): Promise<void>
  /** Stop accepting, flush, close storage. */
  close(): Promise<void>
}

export interface Services {
  keys: KeyService
  tenants: TenantService
  verifier: KeyVerifier
  invalidations: Invalidations
  users: UserService
  tokens: SessionTokens
  signingKeys: SigningKeyRing
  conversations: ConversationService
  messages: MessageService
  events: EventBus
  usage: UsageRecorder
  gateway: RealtimeGateway
  broker: Broker
}

export async function createParley(config: Readonly<Config>, options: ParleyOptions = {}): Promise<Parley> {
  const logger = createLogger(config.logLevel, config.adminKey ? [config.adminKey] : [], options.logDestination)
  const store = await openStore(config.storage, {
    sqliteCacheMb: config.sqliteCacheMb,
    backgroundCheckpoints: { onError: (error) => logger.warn({ err: error }, 'background checkpoints stopped; the database checkpoints by itself') },
  })
  await migrate(store)

  const invalidations = new Invalidations()
  const keyStore = new KeyStore(store.db)
  const tenantStore = new TenantStore(store.db)
  const verifier = new KeyVerifier(keyStore, tenantStore, { ttlMs: config.keyCacheTtlMs, maxEntries: config.keyCacheMaxEntries })
  const userStore = new UserStore(store.db)
  const userCache = new UserCache(userStore, { ttlMs: config.keyCacheTtlMs, maxEntries: config.keyCacheMaxEntries })
  invalidations.on((change) => {
    if (change.type === 'key') verifier.invalidateKey(change.hash)
    if (change.type === 'tenant') verifier.invalidateTenant(change.tenantId)
    if (change.type === 'user') userCache.forget(change.tenantId, change.environment, change.userId)
    if (change.type === 'signing-keys') signingKeys.reload().catch((error) => logger.error({ err: error }, 'signing key reload failed'))
  })
  const signingKeys = new SigningKeyRing(store.db, Kek.load(config.signingKek, config.dataDir))
  await signingKeys.start()
  const tokens = new SessionTokens(signingKeys, config.publicUrl, verifier, userCache, {
    maxCachedTokens: config.keyCacheMaxEntries,
  })

  const lastUsed = new LastUsedTracker(keyStore)
  const keys = new KeyService(keyStore, config.plans, invalidations, lastUsed)
  const tenants = new TenantService(store.db, tenantStore, keys, Object.keys(config.plans), invalidations)
  const users = new UserService(userStore, invalidations)
  const identity = new IdentityService(userStore, userCache, keyStore, tokens)

  const events = new EventBus((error, event) => logger.error({ err: error, eventType: event.type }, 'event consumer failed'))
  const uow = new UnitOfWork(store.db, events)
  const conversationStore = new ConversationStore(store.db)
  const messageStore = new MessageStore(store.db)
  const reader = new ConversationReader(conversationStore, messageStore)
  const conversations = new ConversationService(conversationStore, userStore, reader, uow)
  const historyReader = new HistoryReader(store.db, store.dialect, new HistoryCache(config.historyCacheMb * 1024 * 1024))
  const messages = new MessageService(messageStore, conversationStore, uow, new MessageWriter(messageStore, conversationStore, uow), historyReader)
  users.onDeleted((tenantId, environment, userId) => conversations.removeUserEverywhere({ tenantId, environment }, userId))

  const usageStore = new UsageStore(store.db)
  const usage = new UsageRecorder(usageStore, {
    minutesMs: config.usageMinutesRetentionHours * 3600_000,
    hoursMs: config.usageHoursRetentionDays * 86_400_000,
  })
  const usageService = new UsageService(usageStore, usage, keyStore, lastUsed)
  const alertStore = new AlertStore(store.db)
  const alerts = new AlertEvaluator(alertStore, uow, (error) => logger.error({ err: error }, 'alert evaluation failed'))
  usage.onFlush((rows) => alerts.afterFlush(rows))

  const broker = options.broker ?? (await createBroker(config, logger))
  const limiter = await createLimiter(config, logger)
  // The gauge reads the gateway lazily, at scrape time.
  const metrics = new Metrics(() => gateway.openSockets)
  const limits = new RequestLimits(
    limiter,
    {
      plans: config.plans,
      userRequests: config.userRateLimit,
      userMessages: config.userMessageRateLimit,
      authFailuresPerMinute: config.authFailuresPerMinute,
    },
    {
      limited: (reason) => metrics.rateLimited.inc({ reason }),
      keyDecision: (keyId, caller, decision) =>
        alerts.checkNearLimit(keyId, caller.tenant.id, caller.environment, decision.limit - decision.remaining, decision.limit),
    },
  )
  const { gateway } = createRealtime({
    broker,
    bus: events,
    invalidations,
    tokens,
    keys: verifier,
    conversations: conversationStore,
    messageStore,
    messages,
    limits,
    publicUrl: config.publicUrl,
    logger,
  })
  const services: Services = {
    ...{ keys, tenants, verifier, invalidations, users, tokens, signingKeys },
    ...{ conversations, messages, events, usage, gateway, broker },
  }

  // Generated (and stored) only once everything that can refuse to start has started, so a
  // failed first start never consumes the one showing of the key.
  const adminKey = await setUpAdminKey(store.db, config.adminKey)

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLogController(),
    genReqId: requestIdOf,
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    // Path ids may be 128 characters (tenant-chosen ids); longer ones must reach validation (400).
    routerOptions: { maxParamLength: 512 },
    clientErrorHandler: clientErrorHandler(config.publicUrl),
    // A hop count is supported by Fastify (proxy-addr) even though its types only list strings.
    trustProxy: config.trustProxy as boolean,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.setValidatorCompiler(validatorCompiler())
  app.removeContentTypeParser('text/plain')
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  registerProblemHandling(app, config.publicUrl)
  // Usage counts every response of a request that authenticated with a key, whatever its status.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime)
    const caller = request.caller
    if (caller && (caller.kind === 'secret' || caller.kind === 'publishable') && caller.key) {
      usage.record(caller.key.id, caller.tenant.id, caller.environment, reply.statusCode, reply.elapsedTime)
    }
    done()
  })
  registerAuthentication(app, {
    keys: verifier,
    adminKeyHash: adminKey.hash,
    sessions: tokens,
    onFailure: (request, error) => {
      metrics.authFailures.inc({ code: error.code })
      return limits.afterFailure(request, error)
    },
    onSuccess: (_request, reply, caller) => {
      if ((caller.kind === 'secret' || caller.kind === 'publishable') && caller.key) lastUsed.note(caller.key.id)
      return limits.admit(caller, reply)
    },
  })
  registerCors(app)
  await registerOpenApi(app, config.publicUrl)

  const readiness = [{ name: 'storage', check: store.ping }]
  if (broker.ping) readiness.push({ name: 'redis', check: () => broker.ping!() })
  await app.register(systemRoutes, { readiness })
  await app.register(metricsRoutes, { metrics, isPublic: config.metricsPublic })
  await app.register(tenantRoutes, { tenants })
  await app.register(keyRoutes, { keys })
  await app.register(meRoutes)
  await app.register(userRoutes, { users })
  await app.register(tokenRoutes, { tokens, ring: signingKeys, users: userCache, invalidations })
  await app.register(identityRoutes, { identity })
  await app.register(conversationRoutes, { conversations, reader })
  await app.register(messageRoutes, { messages, limits })
  await app.register(usageRoutes, { usage: usageService })
  await app.register(alertRoutes, { store: alertStore, evaluator: alerts })
  gateway.attach(app.server)
  await app.ready()

  const flush = async () => {
    await lastUsed.flush()
    await usage.flush()
  }
  let lastPrune = 0
  const timer = setInterval(() => {
    flush().catch((error) => logger.warn({ err: error }, 'flush failed; will retry'))
    if (Date.now() - lastPrune > 3600_000) {
      lastPrune = Date.now()
      usage.prune().catch((error) => logger.warn({ err: error }, 'usage pruning failed'))
    }
  }, config.flushIntervalMs)
  timer.unref()
  // Nodes sharing a database without Redis learn of a signing-key rotation within the same
  // freshness bound as key changes (with Redis, the invalidation reaches them at once).
  const ringTimer = setInterval(() => {
    signingKeys.reload().catch((error) => logger.warn({ err: error }, 'signing key reload failed'))
  }, Math.max(1000, config.keyCacheTtlMs))
  ringTimer.unref()

  let closing: Promise<void> | null = null
  const close = () =>
    (closing ??= (async () => {
      clearInterval(timer)
      clearInterval(ringTimer)
      await gateway.close()
      await app.close()
      await flush().catch((error) => logger.error({ err: error }, 'final flush failed'))
      await broker.close()
      await limiter.close()
      await store.close()
    })())

  return { app, store, logger, adminKey, services, flush, close }
}

/** The in-memory broker for one node; Redis when PARLEY_REDIS_URL is set (loaded only then). */
async function createBroker(config: Readonly<Config>, logger: Logger): Promise<Broker> {
  const onError = (error: unknown, context: string) => logger.error({ err: error, context }, 'broker error')
  if (!config.redisUrl) return new MemoryBroker({ onError })
  const { RedisBroker } = await import('./realtime/broker-redis.js')
  return new RedisBroker({ url: config.redisUrl, onError })
}

/** Rate limits in memory for one node; shared in Redis across nodes when configured. */
async function createLimiter(config: Readonly<Config>, logger: Logger): Promise<Limiter> {
  if (!config.redisUrl) return new MemoryLimiter()
  const { RedisLimiter } = await import('./limits/limiter-redis.js')
  return new RedisLimiter(config.redisUrl, { onError: (error) => logger.error({ err: error }, 'rate limiter error') })
}
