/**
 * Step 2 of the composition root: the stores and the services built on them, each given exactly
 * what it uses. Nothing here starts a timer or listens; that is jobs.ts and http.ts.
 */
import type { Logger } from 'pino'
import { AlertEvaluator } from '../alerts/evaluator.js'
import { AlertStore } from '../alerts/store.js'
import { KeyVerifier } from '../auth/api-keys.js'
import { Authenticator } from '../auth/credentials.js'
import { DashboardSessions } from '../auth/dashboard-sessions.js'
import { Kek } from '../auth/kek.js'
import { SessionTokens } from '../auth/session-tokens.js'
import { SigningKeyRing } from '../auth/signing-keys.js'
import { Invalidations } from '../cluster/invalidations.js'
import { type Clock, systemClock } from '../delivery/clock.js'
import { DeliveryMetrics } from '../delivery/metrics.js'
import type { Config } from '../config.js'
import { ConversationReader } from '../conversations/reader.js'
import { ConversationService } from '../conversations/service.js'
import { ConversationStore } from '../conversations/store.js'
import { EventBus } from '../events/bus.js'
import { EventConsumers } from '../events/consumers.js'
import { registerConsumerLag } from '../events/metrics.js'
import { EventRetention } from '../events/retention.js'
import { UnitOfWork } from '../events/unit-of-work.js'
import { RequestLimits } from '../http/rate-limits.js'
import { IdentityService } from '../identity/service.js'
import { LastUsedTracker } from '../keys/last-used.js'
import { KeyService } from '../keys/service.js'
import { KeyStore } from '../keys/store.js'
import { reporterKeysFrom } from '../leaks/reporter-keys.js'
import { LeakService } from '../leaks/service.js'
import { LeakReportStore } from '../leaks/store.js'
import { PACKAGE_VERSION } from '../lib/package-version.js'
import { FailedAuthThrottle } from '../limits/failed-auth.js'
import { HistoryCache } from '../messages/history-cache.js'
import { HistoryReader } from '../messages/history-reader.js'
import { MessageService } from '../messages/service.js'
import { MessageStore } from '../messages/store.js'
import { MessageWriter } from '../messages/writer.js'
import { Metrics } from '../metrics/metrics.js'
import type { Store } from '../storage/database.js'
import type { Limiters } from './infrastructure.js'
import type { Presence } from '../cluster/presence.js'
import { TenantService } from '../tenants/service.js'
import { TenantStore } from '../tenants/store.js'
import { TokenService } from '../tokens/service.js'
import { UsageRecorder } from '../usage/recorder.js'
import { UsageService } from '../usage/service.js'
import { UsageStore } from '../usage/store.js'
import { UserService } from '../users/service.js'
import { UserStore } from '../users/store.js'
import { UserCache } from '../users/user-cache.js'
import { createWebhooks } from '../webhooks/setup.js'
import { createPush } from '../push/setup.js'

export type Services = Awaited<ReturnType<typeof buildServices>>

/** `clock`: time as the delivery queue sees it (tests move it to run retries hours apart at once). */
export async function buildServices(config: Readonly<Config>, store: Store, limiters: Limiters, presence: Presence, logger: Logger, clock: Clock = systemClock) {
  const cacheOptions = { ttlMs: config.keyCacheTtlMs, maxEntries: config.keyCacheMaxEntries }
  const invalidations = new Invalidations()
  const metrics = new Metrics()
  // Every change commits with its domain events (UnitOfWork), then the bus publishes them.
  const events = new EventBus((error, event) => logger.error({ err: error, eventType: event.type }, 'event consumer failed'))
  const uow = new UnitOfWork(store.db, events)
  // Seals session-token signing keys and webhook secrets at rest.
  const kek = Kek.load(config.signingKek, config.dataDir)

  // Credentials: keys, tenants, users, session tokens.
  const keyStore = new KeyStore(store.db)
  const tenantStore = new TenantStore(store.db)
  const userStore = new UserStore(store.db)
  const verifier = new KeyVerifier(keyStore, tenantStore, cacheOptions)
  const userCache = new UserCache(userStore, cacheOptions)
  const signingKeys = new SigningKeyRing(store.db, kek)
  await signingKeys.start()
  const tokens = new SessionTokens(signingKeys, config.publicUrl, verifier, userCache, { maxCachedTokens: config.keyCacheMaxEntries })
  const tokenService = new TokenService(tokens, userCache)
  const lastUsed = new LastUsedTracker(keyStore)
  const leakReports = new LeakReportStore(store.db)
  const keys = new KeyService(keyStore, config.plans, invalidations, lastUsed, uow, leakReports)
  const tenants = new TenantService(store.db, tenantStore, keys, Object.keys(config.plans), invalidations)
  const users = new UserService(userStore, invalidations, uow)
  const identity = new IdentityService(users, userCache, keyStore, tokens)

  // Stored events, kept until every consumer has them (and the retention period after).
  const eventRetention = new EventRetention(store.db, {
    retentionMs: config.eventRetentionDays * 86_400_000,
    onError: (error) => logger.warn({ err: error }, 'event pruning failed; will retry'),
  })

  // Usage, alerts and the request limits that feed them.
  const usageStore = new UsageStore(store.db)
  const usage = new UsageRecorder(usageStore, {
    minutesMs: config.usageMinutesRetentionHours * 3600_000,
    hoursMs: config.usageHoursRetentionDays * 86_400_000,
  })
  const usageService = new UsageService(usageStore, usage, keyStore, lastUsed)
  const alertStore = new AlertStore(store.db)
  const alerts = new AlertEvaluator(alertStore, uow, (error) => logger.error({ err: error }, 'alert evaluation failed'))

  // Leaked-key reports (API.md §11): revoked through the keys' own path, recorded, alerted.
  const leaks = new LeakService({
    keyLookup: keyStore,
    keys,
    reports: leakReports,
    alerts: alertStore,
    onRevoked: (key, { url, source }) => logger.warn({ keyId: key.id, tenantId: key.tenantId, environment: key.environment, url, source }, 'leaked key revoked'),
  })
  const reporterKeys = reporterKeysFrom(
    { url: config.leakReportKeysUrl, inline: config.leakReportKeys },
    { userAgent: `parley/${PACKAGE_VERSION}`, onProblem: (problem) => logger.warn({ problem }, 'leak report keys') },
  )
  const limits = new RequestLimits(
    limiters.requests,
    limiters.addresses,
    {
      plans: config.plans,
      userRequests: config.userRateLimit,
      userMessages: config.userMessageRateLimit,
      publishablePerAddress: config.publishableRateLimitPerIp,
    },
    {
      limited: (reason) => metrics.rateLimited.inc({ reason }),
      keyDecision: (keyId, caller, decision) =>
        alerts.checkNearLimit(keyId, caller.tenant.id, caller.environment, decision.limit - decision.remaining, decision.limit),
    },
  )
  const failedAuth = new FailedAuthThrottle(limiters.failedAuth, config.authFailuresPerMinute, () => metrics.rateLimited.inc({ reason: 'ip' }))

  // Conversations and messages; every send spends the sender's message budget (limits).
  const conversationStore = new ConversationStore(store.db)
  const messageStore = new MessageStore(store.db)
  const reader = new ConversationReader(conversationStore, messageStore)
  const conversations = new ConversationService(conversationStore, userStore, reader, uow)
  const historyReader = new HistoryReader(store.db, store.dialect, new HistoryCache(config.historyCacheMb * 1024 * 1024))
  const writer = new MessageWriter(messageStore, conversationStore, uow)
  const messages = new MessageService(messageStore, conversationStore, uow, writer, historyReader, limits)

  // Webhooks: the outbox fanned out to endpoints, delivered by the queue's worker (started in jobs.ts).
  // Push shares the queue (and its figures): the outbox fanned out to members' devices.
  const deliveryMetrics = new DeliveryMetrics(metrics.registry, clock)
  registerConsumerLag(metrics.registry, new EventConsumers(store.db))
  const webhooks = createWebhooks({
    db: store.db,
    dialect: store.dialect,
    kek,
    bus: events,
    metrics: deliveryMetrics,
    clock,
    settings: {
      allowPrivate: config.webhookAllowPrivate,
      timeoutMs: config.webhookTimeoutMs,
      concurrency: config.webhookConcurrency,
      concurrencyPerEndpoint: config.webhookConcurrencyPerEndpoint,
      logRetentionDays: config.webhookLogRetentionDays,
    },
    onError: (error, context) => logger.error({ err: error, context }, 'webhook delivery error'),
  })
  const push = createPush({
    db: store.db,
    dialect: store.dialect,
    kek,
    bus: events,
    presence,
    users: userStore,
    conversations: conversationStore,
    deliveryMetrics,
    registry: metrics.registry,
    clock,
    settings: { allowPrivate: config.webhookAllowPrivate, apnsUrl: config.apnsUrl, fcmUrl: config.fcmUrl, timeoutMs: config.pushTimeoutMs },
    onError: (error, context) => logger.error({ err: error, context }, 'push delivery error'),
  })

  return {
    ...{ invalidations, metrics, keyStore, verifier, userCache, signingKeys, tokens, tokenService, lastUsed, keys, tenants, users, identity },
    ...{ events, eventRetention, conversationStore, messageStore, reader, conversations, historyReader, messages },
    ...{ usage, usageService, alertStore, alerts, limits, failedAuth, webhooks },
    ...{ presence, push },
    ...{ leaks, reporterKeys },
    kek,
  }
}

/**
 * Dashboard sign-in sessions (auth/dashboard-sessions.ts); need the admin key (step 4) to seal
 * operator sessions to it. Their cache hears of sign-outs on every node.
 */
export function buildDashboardSessions(config: Readonly<Config>, store: Store, services: Services, adminKeyHash: string): DashboardSessions {
  const { invalidations, kek } = services
  const options = { ttlMs: config.keyCacheTtlMs, maxEntries: config.keyCacheMaxEntries }
  const sessions = new DashboardSessions(store.db, kek, adminKeyHash, options, (tokenHash) => invalidations.publish({ type: 'dashboard-session', tokenHash }))
  invalidations.on((change) => {
    if (change.type === 'dashboard-session') sessions.forget(change.tokenHash)
    if (change.type === 'everything') sessions.forgetAll()
  })
  return sessions
}

/** The one credential check of HTTP and realtime (auth/credentials.ts); needs the admin key (step 4). */
export function buildAuthenticator(services: Services, adminKeyHash: string, dashboardSessions?: DashboardSessions): Authenticator {
  const { verifier, tokens, failedAuth, metrics } = services
  return new Authenticator({
    keys: verifier,
    sessions: tokens,
    adminKeyHash,
    dashboardSessions,
    throttle: failedAuth,
    onFailure: (error) => metrics.authFailures.inc({ code: error.code }),
  })
}

/** Step 3: who hears about what. Caches hear about changes first, so later listeners read fresh state. */
export function wireEvents(services: Services, logger: Logger): void {
  const { invalidations, verifier, userCache, signingKeys, users, conversations, usage, alerts, push } = services
  invalidations.on((change) => {
    if (change.type === 'key') verifier.invalidateKey(change.hash)
    if (change.type === 'tenant') verifier.invalidateTenant(change.tenantId)
    if (change.type === 'user') userCache.forget(change.tenantId, change.environment, change.userId)
    if (change.type === 'everything') {
      verifier.invalidateAll()
      userCache.forgetAll()
    }
    if (change.type === 'signing-keys' || change.type === 'everything') signingKeys.reload().catch((error) => logger.error({ err: error }, 'signing key reload failed'))
  })
  users.onDeleted((tenantId, environment, userId) => conversations.removeUserEverywhere({ tenantId, environment }, userId))
  users.onDeleted((tenantId, environment, userId) => push.service.userDeleted({ tenantId, environment }, userId))
  usage.onFlush((rows) => alerts.afterFlush(rows))
}

