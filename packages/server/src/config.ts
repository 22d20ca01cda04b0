/**
 * Configuration: read from the environment once, validated, frozen and passed down.
 * This is the only module that reads process.env.
 */
import { dirname, resolve } from 'node:path'
import { hasKeyPrefix, looksLikeSessionToken } from './auth/key-format.js'
import type { PlanConfig } from './core/plan.js'
import { parseReporterKeys } from './leaks/reporter-keys.js'
import type { Storage } from './storage/database.js'

export const DEFAULT_PLANS: Record<string, PlanConfig> = {
  free: { keysPerEnvironment: 3, rateLimit: { limit: 60, windowSeconds: 60 } },
  starter: { keysPerEnvironment: 10, rateLimit: { limit: 300, windowSeconds: 60 } },
  pro: { keysPerEnvironment: null, rateLimit: { limit: 1000, windowSeconds: 60 } },
  enterprise: { keysPerEnvironment: null, rateLimit: { limit: 1000, windowSeconds: 60 } },
}

export interface Config {
  port: number
  host: string
  storage: Storage
  /** Directory for files Parley creates itself (the signing-key encryption key); null = in memory. */
  dataDir: string | null
  /** The built dashboard served at /dashboard (PARLEY_DASHBOARD_DIR); null = the @parley/dashboard package's dist/. */
  dashboardDir: string | null
  redisUrl: string | null
  /** Prepended to every Redis channel and key Parley uses, so several deployments can share one Redis. */
  redisPrefix: string
  publicUrl: string
  adminKey: string | null
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** auto: one readable line per request in a terminal, JSON lines otherwise. */
  logFormat: 'auto' | 'json' | 'pretty'
  /** false when NO_COLOR is set (https://no-color.org); colours are only ever written to a terminal. */
  logColors: boolean
  /** false: the socket address is the client; a number: believe that many X-Forwarded-For hops. */
  trustProxy: boolean | number
  /** Slow clients (API.md §12): headers, a whole request, an idle keep-alive connection (ms). */
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  /** Open connections per client address (IPv6 by /64); 0 = no cap. Counts TCP peers, so off behind a proxy unless set. */
  maxConnectionsPerIp: number
  webhookAllowPrivate: boolean
  /** The deadline of one webhook attempt (ms; API.md §7: 15 s). */
  webhookTimeoutMs: number
  /** Webhook attempts in flight on a node, in all and per endpoint (one slow receiver holds only its share). */
  webhookConcurrency: number
  webhookConcurrencyPerEndpoint: number
  /** How long the webhook delivery log keeps finished attempts. */
  webhookLogRetentionDays: number
  /** PARLEY_APNS_URL: where APNs requests go (http:// = HTTP/2 without TLS); null = Apple's host for the tenant's `production` flag. */
  apnsUrl: string | null
  /** PARLEY_FCM_URL: the FCM HTTP v1 API's base URL (a private gateway or a local fake may stand in). */
  fcmUrl: string
  /** The deadline of one push request to a provider (ms); a node's claim on a push lasts twice this plus 10 s. */
  pushTimeoutMs: number
  metricsPublic: boolean
  /**
   * Leaked-key reports (API.md §11): the URL a code host publishes its signing keys at, or those
   * keys inline (the same JSON, validated here). At most one is set; neither = the signed route answers 404.
   */
  leakReportKeysUrl: string | null
  leakReportKeys: string | null
  plans: Record<string, PlanConfig>
  /** How long another node's key change may take to reach this node's cache (ms). */
  keyCacheTtlMs: number
  keyCacheMaxEntries: number
  /** How often lastUsedAt and usage counters are written (ms). */
  flushIntervalMs: number
  /** Seconds between two storage re-checks of a socket's subscriptions (API.md §12: at most 60). */
  subscriptionRecheckSeconds: number
  /** Base64 of 32 bytes encrypting signing keys at rest; null = a 0600 file in dataDir. */
  signingKek: string | null
  /** How long per-minute and per-hour usage buckets are kept (day buckets are kept forever). */
  usageMinutesRetentionHours: number
  usageHoursRetentionDays: number
  /** How long a stored event is kept once every consumer has it (API.md §12). */
  eventRetentionDays: number
  /** Per end user (session tokens): requests, and message sends, per window. */
  userRateLimit: { limit: number; windowSeconds: number }
  userMessageRateLimit: { limit: number; windowSeconds: number }
  /** Failed authentications per client IP per minute before 429. */
  authFailuresPerMinute: number
  /** Requests per publishable key and client address (IPv6 by /64), besides the key's own limit. */
  publishableRateLimitPerIp: { limit: number; windowSeconds: number }
  /** Open realtime sockets per user or visitor, and per secret key (on each node). */
  maxSocketsPerUser: number
  maxSocketsPerKey: number
  /** Memory for serialised history pages, in MiB (counted in characters); 0 = no cache. */
  historyCacheMb: number
  /** SQLite's own page cache, in MiB (ignored with PostgreSQL). */
  sqliteCacheMb: number
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got "${raw}")`)
  }
  return value
}

function boolean(env: Env, name: string): boolean {
  const raw = env[name]?.toLowerCase()
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false
  if (raw === 'true' || raw === '1') return true
  throw new ConfigError(name, `must be true or false (got "${env[name]}")`)
}

function storage(env: Env, cwd: string): Storage {
  const url = env.PARLEY_DATABASE_URL || 'sqlite:./parley-data/parley.db'
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', url }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length)
    if (path === '') throw new ConfigError('PARLEY_DATABASE_URL', 'needs a path after sqlite:')
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(cwd, path) }
  }
  throw new ConfigError('PARLEY_DATABASE_URL', 'must start with sqlite:, postgres:// or postgresql://')
}

/** `<limit>/<windowSeconds>`, e.g. `1200/60`. */
function rate(env: Env, name: string, fallback: { limit: number; windowSeconds: number }) {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const match = /^(\d+)\/(\d+)$/.exec(raw)
  const limit = Number(match?.[1])
  const windowSeconds = Number(match?.[2])
  if (!match || limit < 1 || windowSeconds < 1 || windowSeconds > 86_400) {
    throw new ConfigError(name, `must look like <limit>/<windowSeconds>, e.g. 1200/60 (got "${raw}")`)
  }
  return { limit, windowSeconds }
}

function trustProxy(env: Env): boolean | number {
  const raw = env.PARLEY_TRUST_PROXY
  if (raw === undefined || raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  const hops = Number(raw)
  if (Number.isInteger(hops) && hops >= 0 && hops <= 32) return hops
  throw new ConfigError('PARLEY_TRUST_PROXY', `must be true, false or a hop count (got "${raw}")`)
}

const PLAN_NAME = /^[A-Za-z0-9_-]{1,64}$/
const PLAN_FIELDS = ['keysPerEnvironment', 'rateLimit']
const RATE_FIELDS = ['limit', 'windowSeconds']

/** An object whose fields are all in `allowed`; otherwise a ConfigError naming the first wrong one. */
function fieldsOf(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('PARLEY_PLANS', `field "${path}" must be an object with ${allowed.join(' and ')}`)
  }
  const unknown = Object.keys(value).find((field) => !allowed.includes(field))
  if (unknown !== undefined) {
    throw new ConfigError('PARLEY_PLANS', `has an unknown field "${path}.${unknown}" (allowed there: ${allowed.join(', ')})`)
  }
  return value as Record<string, unknown>
}

function planInteger(value: unknown, path: string, max: number, nullable = false): number | null {
  if (nullable && value === null) return null
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max) return value as number
  const expected = `an integer from 1 to ${max}${nullable ? ', or null for unlimited' : ''}`
  throw new ConfigError('PARLEY_PLANS', `field "${path}" must be ${expected} (got ${JSON.stringify(value)})`)
}

/**
 * `{ "<plan>": { keysPerEnvironment?, rateLimit?: { limit?, windowSeconds? } } }`, merged over
 * DEFAULT_PLANS (a new plan starts from free's values). As strict as every other variable: a typo
 * such as `{"pro":{"keys":50}}` stops start-up instead of silently leaving the default in place.
 */
function plans(env: Env): Record<string, PlanConfig> {
  const raw = env.PARLEY_PLANS
  if (!raw) return DEFAULT_PLANS
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new ConfigError('PARLEY_PLANS', 'must be a JSON object such as {"pro":{"keysPerEnvironment":50}}')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('PARLEY_PLANS', 'must be a JSON object such as {"pro":{"keysPerEnvironment":50}}')
  }
  const merged: Record<string, PlanConfig> = { ...DEFAULT_PLANS }
  for (const [name, value] of Object.entries(parsed)) {
    if (!PLAN_NAME.test(name)) throw new ConfigError('PARLEY_PLANS', `has an invalid plan name "${name}" (1-64 of A-Z a-z 0-9 _ -)`)
    const base = merged[name] ?? DEFAULT_PLANS.free!
    const fields = fieldsOf(value, name, PLAN_FIELDS)
    const rate = fields.rateLimit === undefined ? {} : fieldsOf(fields.rateLimit, `${name}.rateLimit`, RATE_FIELDS)
    merged[name] = {
      keysPerEnvironment:
        fields.keysPerEnvironment === undefined ? base.keysPerEnvironment : planInteger(fields.keysPerEnvironment, `${name}.keysPerEnvironment`, 1_000_000, true),
      rateLimit: {
        limit: rate.limit === undefined ? base.rateLimit.limit : planInteger(rate.limit, `${name}.rateLimit.limit`, 1_000_000_000)!,
        windowSeconds: rate.windowSeconds === undefined ? base.rateLimit.windowSeconds : planInteger(rate.windowSeconds, `${name}.rateLimit.windowSeconds`, 86_400)!,
      },
    }
  }
  return merged
}

/** Next to the SQLite file; nowhere for an in-memory store; ./parley-data otherwise. */
function defaultDataDir(store: Storage, cwd: string): string | null {
  if (store.kind === 'sqlite') return store.path === ':memory:' ? null : dirname(store.path)
  return resolve(cwd, './parley-data')
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const LOG_FORMATS = ['json', 'pretty'] as const

function logFormat(env: Env): Config['logFormat'] {
  const raw = env.PARLEY_LOG_FORMAT?.toLowerCase()
  if (raw === undefined || raw === '') return 'auto'
  if ((LOG_FORMATS as readonly string[]).includes(raw)) return raw as Config['logFormat']
  throw new ConfigError('PARLEY_LOG_FORMAT', `must be json or pretty (got "${env.PARLEY_LOG_FORMAT}"); unset, it is pretty in a terminal and json otherwise`)
}

function redisPrefix(env: Env): string {
  const raw = env.PARLEY_REDIS_PREFIX
  if (raw === undefined || raw === '') return 'parley:'
  // Printable ASCII without spaces: it also names Parley's Redis connections (CLIENT SETNAME).
  if (!/^[\x21-\x7e]{1,64}$/.test(raw)) {
    throw new ConfigError('PARLEY_REDIS_PREFIX', `must be 1-64 printable characters without spaces (got "${raw}")`)
  }
  return raw
}

/**
 * The environment handed to the client commands (`parley keys`, `tail`, …): they read their own
 * variables (PARLEY_API_URL, PARLEY_API_KEY, HOME, XDG_CONFIG_HOME), none of them the server's config.
 */
export function clientCommandEnv(): Env {
  return process.env
}

/** An http(s) base URL without a trailing slash, or null when unset. */
function baseUrl(env: Env, name: string): string | null {
  const raw = env[name]
  if (raw === undefined || raw === '') return null
  const url = raw.replace(/\/+$/, '')
  if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url)) throw new ConfigError(name, `must be an http(s) URL (got "${raw}")`)
  return url
}

/** PARLEY_LEAK_REPORT_KEYS_URL or PARLEY_LEAK_REPORT_KEYS (never both), checked as far as start-up can. */
function leakReportKeys(env: Env): { leakReportKeysUrl: string | null; leakReportKeys: string | null } {
  const url = env.PARLEY_LEAK_REPORT_KEYS_URL || null
  const inline = env.PARLEY_LEAK_REPORT_KEYS || null
  if (url !== null && inline !== null) {
    throw new ConfigError('PARLEY_LEAK_REPORT_KEYS', 'and PARLEY_LEAK_REPORT_KEYS_URL are both set: set one (the URL to fetch the keys, or the keys themselves)')
  }
  if (url !== null && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url)) {
    throw new ConfigError('PARLEY_LEAK_REPORT_KEYS_URL', `must be an http(s) URL (got "${url}")`)
  }
  if (inline !== null) {
    let parsed
    try {
      parsed = parseReporterKeys(inline)
    } catch (error) {
      throw new ConfigError('PARLEY_LEAK_REPORT_KEYS', `${(error as Error).message} (the JSON GitHub publishes: {"public_keys":[{"key_identifier":"…","key":"-----BEGIN PUBLIC KEY-----…"}]})`)
    }
    if (parsed.skipped.length > 0) throw new ConfigError('PARLEY_LEAK_REPORT_KEYS', `has unusable entries: ${parsed.skipped.join('; ')}`)
    if (parsed.keys.size === 0) throw new ConfigError('PARLEY_LEAK_REPORT_KEYS', 'lists no key')
  }
  return { leakReportKeysUrl: url, leakReportKeys: inline }
}

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Readonly<Config> {
  const port = integer(env, 'PARLEY_PORT', 8080, 0, 65535)
  // Loopback unless told otherwise: a first run must not serve the network by surprise.
  const host = env.PARLEY_HOST || '127.0.0.1'
  const publicUrl = (env.PARLEY_PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, '')
  if (!/^https?:\/\/[^\s/]+/.test(publicUrl)) {
    throw new ConfigError('PARLEY_PUBLIC_URL', `must be an http(s) URL (got "${publicUrl}")`)
  }
  const adminKey = env.PARLEY_ADMIN_KEY || null
  if (adminKey !== null && (adminKey.length < 32 || /\s/.test(adminKey))) {
    throw new ConfigError('PARLEY_ADMIN_KEY', 'must be at least 32 characters with no spaces')
  }
  if (adminKey !== null && (hasKeyPrefix(adminKey) || looksLikeSessionToken(adminKey))) {
    throw new ConfigError('PARLEY_ADMIN_KEY', 'must not look like a tenant key (sk_/pk_) or a session token (a JWT)')
  }
  const logLevel = (env.PARLEY_LOG_LEVEL || 'info').toLowerCase() as Config['logLevel']
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('PARLEY_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`)
  }
  const redisUrl = env.PARLEY_REDIS_URL || null
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('PARLEY_REDIS_URL', 'must start with redis:// or rediss://')
  }
  const signingKek = env.PARLEY_SIGNING_KEK || null
  if (signingKek !== null && Buffer.from(signingKek, 'base64').length !== 32) {
    throw new ConfigError('PARLEY_SIGNING_KEK', 'must be the base64 encoding of 32 random bytes')
  }
  const store = storage(env, cwd)
  const proxy = trustProxy(env)
  const headersTimeoutMs = integer(env, 'PARLEY_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000)
  const requestTimeoutMs = integer(env, 'PARLEY_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000)
  // Node refuses a headers timeout longer than the request timeout (the headers are part of it).
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError('PARLEY_HEADERS_TIMEOUT_MS', `must not exceed PARLEY_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`)
  }
  const config: Config = {
    port,
    host,
    storage: store,
    dataDir: env.PARLEY_DATA_DIR ? resolve(cwd, env.PARLEY_DATA_DIR) : defaultDataDir(store, cwd),
    dashboardDir: env.PARLEY_DASHBOARD_DIR ? resolve(cwd, env.PARLEY_DASHBOARD_DIR) : null,
    redisUrl,
    redisPrefix: redisPrefix(env),
    publicUrl,
    adminKey,
    logLevel,
    logFormat: logFormat(env),
    logColors: !env.NO_COLOR,
    trustProxy: proxy,
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: integer(env, 'PARLEY_KEEP_ALIVE_TIMEOUT_MS', 5000, 100, 600_000),
    // Behind a proxy every connection comes from the proxy: the cap would throttle all clients together.
    maxConnectionsPerIp: integer(env, 'PARLEY_MAX_CONNECTIONS_PER_IP', proxy === false || proxy === 0 ? 100 : 0, 0, 1_000_000),
    webhookAllowPrivate: boolean(env, 'PARLEY_WEBHOOK_ALLOW_PRIVATE'),
    webhookTimeoutMs: integer(env, 'PARLEY_WEBHOOK_TIMEOUT_MS', 15_000, 100, 60_000),
    webhookConcurrency: integer(env, 'PARLEY_WEBHOOK_CONCURRENCY', 64, 1, 10_000),
    webhookConcurrencyPerEndpoint: integer(env, 'PARLEY_WEBHOOK_CONCURRENCY_PER_ENDPOINT', 16, 1, 1000),
    webhookLogRetentionDays: integer(env, 'PARLEY_WEBHOOK_LOG_RETENTION_DAYS', 30, 1, 3650),
    apnsUrl: baseUrl(env, 'PARLEY_APNS_URL'),
    fcmUrl: baseUrl(env, 'PARLEY_FCM_URL') ?? 'https://fcm.googleapis.com',
    pushTimeoutMs: integer(env, 'PARLEY_PUSH_TIMEOUT_MS', 15_000, 100, 60_000),
    metricsPublic: boolean(env, 'PARLEY_METRICS_PUBLIC'),
    ...leakReportKeys(env),
    plans: plans(env),
    // Bounds how long another node may accept a revoked key without Redis: API.md §9 allows 1 s.
    keyCacheTtlMs: integer(env, 'PARLEY_KEY_CACHE_TTL_MS', 900, 0, 60_000),
    keyCacheMaxEntries: integer(env, 'PARLEY_KEY_CACHE_MAX_ENTRIES', 100_000, 100, 10_000_000),
    flushIntervalMs: integer(env, 'PARLEY_FLUSH_INTERVAL_MS', 5000, 100, 60_000),
    subscriptionRecheckSeconds: integer(env, 'PARLEY_SUBSCRIPTION_RECHECK_SECONDS', 60, 1, 60),
    signingKek,
    usageMinutesRetentionHours: integer(env, 'PARLEY_USAGE_MINUTES_RETENTION_HOURS', 48, 1, 24 * 365),
    usageHoursRetentionDays: integer(env, 'PARLEY_USAGE_HOURS_RETENTION_DAYS', 90, 1, 3650),
    eventRetentionDays: integer(env, 'PARLEY_EVENT_RETENTION_DAYS', 7, 1, 3650),
    userRateLimit: rate(env, 'PARLEY_USER_RATE_LIMIT', { limit: 1200, windowSeconds: 60 }),
    userMessageRateLimit: rate(env, 'PARLEY_USER_MESSAGE_RATE_LIMIT', { limit: 300, windowSeconds: 60 }),
    authFailuresPerMinute: integer(env, 'PARLEY_AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    publishableRateLimitPerIp: rate(env, 'PARLEY_PUBLISHABLE_RATE_LIMIT_PER_IP', { limit: 60, windowSeconds: 60 }),
    maxSocketsPerUser: integer(env, 'PARLEY_MAX_SOCKETS_PER_USER', 20, 1, 1_000_000),
    maxSocketsPerKey: integer(env, 'PARLEY_MAX_SOCKETS_PER_KEY', 20, 1, 1_000_000),
    historyCacheMb: integer(env, 'PARLEY_HISTORY_CACHE_MB', 32, 0, 65_536),
    sqliteCacheMb: integer(env, 'PARLEY_SQLITE_CACHE_MB', 64, 1, 65_536),
  }
  return Object.freeze(config)
}
