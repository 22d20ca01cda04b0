/**
 * Configuration: read from the environment once, validated, frozen and passed down.
 * This is the only module that reads process.env.
 */
import { dirname, resolve } from 'node:path'
import { hasKeyPrefix, looksLikeSessionToken } from './auth/key-format.js'

export type Storage = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string }

export interface PlanConfig {
  /** Active keys per environment; null = unlimited. */
  keysPerEnvironment: number | null
  rateLimit: { limit: number; windowSeconds: number }
}

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
  redisUrl: string | null
  publicUrl: string
  adminKey: string | null
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** false: the socket address is the client; a number: believe that many X-Forwarded-For hops. */
  trustProxy: boolean | number
  webhookAllowPrivate: boolean
  metricsPublic: boolean
  plans: Record<string, PlanConfig>
  /** How long another node's key change may take to reach this node's cache (ms). */
  keyCacheTtlMs: number
  keyCacheMaxEntries: number
  /** How often lastUsedAt and usage counters are written (ms). */
  flushIntervalMs: number
  /** Base64 of 32 bytes encrypting signing keys at rest; null = a 0600 file in dataDir. */
  signingKek: string | null
  /** How long per-minute and per-hour usage buckets are kept (day buckets are kept forever). */
  usageMinutesRetentionHours: number
  usageHoursRetentionDays: number
  /** Per end user (session tokens): requests, and message sends, per window. */
  userRateLimit: { limit: number; windowSeconds: number }
  userMessageRateLimit: { limit: number; windowSeconds: number }
  /** Failed authentications per client IP per minute before 429. */
  authFailuresPerMinute: number
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

function plans(env: Env): Record<string, PlanConfig> {
  const raw = env.PARLEY_PLANS
  if (!raw) return DEFAULT_PLANS
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new ConfigError('PARLEY_PLANS', 'must be a JSON object')
  }
  if (typeof parsed !== 'object' || parsed === null) throw new ConfigError('PARLEY_PLANS', 'must be a JSON object')
  const merged: Record<string, PlanConfig> = { ...DEFAULT_PLANS }
  for (const [name, value] of Object.entries(parsed as Record<string, Partial<PlanConfig>>)) {
    const base = merged[name] ?? DEFAULT_PLANS.free!
    const plan = { ...base, ...value, rateLimit: { ...base.rateLimit, ...value?.rateLimit } }
    const { keysPerEnvironment: k, rateLimit: r } = plan
    const positive = (n: unknown) => Number.isInteger(n) && (n as number) > 0
    if (!(k === null || positive(k)) || !positive(r.limit) || !positive(r.windowSeconds)) {
      throw new ConfigError('PARLEY_PLANS', `has an invalid plan "${name}"`)
    }
    merged[name] = plan
  }
  return merged
}

/** Next to the SQLite file; nowhere for an in-memory store; ./parley-data otherwise. */
function defaultDataDir(store: Storage, cwd: string): string | null {
  if (store.kind === 'sqlite') return store.path === ':memory:' ? null : dirname(store.path)
  return resolve(cwd, './parley-data')
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Readonly<Config> {
  const port = integer(env, 'PARLEY_PORT', 8080, 0, 65535)
  const host = env.PARLEY_HOST || '0.0.0.0'
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
  const config: Config = {
    port,
    host,
    storage: store,
    dataDir: env.PARLEY_DATA_DIR ? resolve(cwd, env.PARLEY_DATA_DIR) : defaultDataDir(store, cwd),
    redisUrl,
    publicUrl,
    adminKey,
    logLevel,
    trustProxy: trustProxy(env),
    webhookAllowPrivate: boolean(env, 'PARLEY_WEBHOOK_ALLOW_PRIVATE'),
    metricsPublic: boolean(env, 'PARLEY_METRICS_PUBLIC'),
    plans: plans(env),
    // Bounds how long another node may accept a revoked key without Redis: API.md §9 allows 1 s.
    keyCacheTtlMs: integer(env, 'PARLEY_KEY_CACHE_TTL_MS', 900, 0, 60_000),
    keyCacheMaxEntries: integer(env, 'PARLEY_KEY_CACHE_MAX_ENTRIES', 100_000, 100, 10_000_000),
    flushIntervalMs: integer(env, 'PARLEY_FLUSH_INTERVAL_MS', 5000, 100, 60_000),
    signingKek,
    usageMinutesRetentionHours: integer(env, 'PARLEY_USAGE_MINUTES_RETENTION_HOURS', 48, 1, 24 * 365),
    usageHoursRetentionDays: integer(env, 'PARLEY_USAGE_HOURS_RETENTION_DAYS', 90, 1, 3650),
    userRateLimit: rate(env, 'PARLEY_USER_RATE_LIMIT', { limit: 1200, windowSeconds: 60 }),
    userMessageRateLimit: rate(env, 'PARLEY_USER_MESSAGE_RATE_LIMIT', { limit: 300, windowSeconds: 60 }),
    authFailuresPerMinute: integer(env, 'PARLEY_AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    historyCacheMb: integer(env, 'PARLEY_HISTORY_CACHE_MB', 32, 0, 65_536),
    sqliteCacheMb: integer(env, 'PARLEY_SQLITE_CACHE_MB', 64, 1, 65_536),
  }
  return Object.freeze(config)
}
