/** Configuration (config.ts): defaults, and a bad value named in the error instead of a late failure. */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'

describe('configuration', () => {
  it('starts from documented defaults', () => {
    const config = loadConfig({}, '/srv/parley')
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      storage: { kind: 'sqlite', path: '/srv/parley/parley-data/parley.db' },
      dataDir: '/srv/parley/parley-data',
      publicUrl: 'http://localhost:8080',
      historyCacheMb: 32,
      sqliteCacheMb: 64,
      keyCacheTtlMs: 900,
      userRateLimit: { limit: 1200, windowSeconds: 60 },
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5000,
      maxConnectionsPerIp: 100,
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('serves a network only when PARLEY_HOST says so', () => {
    expect(loadConfig({ PARLEY_HOST: '0.0.0.0' }).host).toBe('0.0.0.0')
    expect(loadConfig({ PARLEY_HOST: '::' }).host).toBe('::')
  })

  it('behind a trusted proxy the per-address connection cap is off unless set (every connection comes from the proxy)', () => {
    expect(loadConfig({ PARLEY_TRUST_PROXY: 'true' }).maxConnectionsPerIp).toBe(0)
    expect(loadConfig({ PARLEY_TRUST_PROXY: '1' }).maxConnectionsPerIp).toBe(0)
    expect(loadConfig({ PARLEY_TRUST_PROXY: '0' }).maxConnectionsPerIp).toBe(100)
    expect(loadConfig({ PARLEY_TRUST_PROXY: 'true', PARLEY_MAX_CONNECTIONS_PER_IP: '500' }).maxConnectionsPerIp).toBe(500)
    expect(loadConfig({ PARLEY_MAX_CONNECTIONS_PER_IP: '0' }).maxConnectionsPerIp).toBe(0)
  })

  it('reads each variable', () => {
    const config = loadConfig({
      PARLEY_PORT: '9000',
      PARLEY_DATABASE_URL: 'postgres://db/parley',
      PARLEY_HISTORY_CACHE_MB: '0',
      PARLEY_USER_MESSAGE_RATE_LIMIT: '10/1',
      PARLEY_TRUST_PROXY: '2',
      PARLEY_HEADERS_TIMEOUT_MS: '2000',
      PARLEY_REQUEST_TIMEOUT_MS: '4000',
      PARLEY_KEEP_ALIVE_TIMEOUT_MS: '1000',
    })
    expect(config).toMatchObject({
      port: 9000,
      storage: { kind: 'postgres', url: 'postgres://db/parley' },
      historyCacheMb: 0,
      userMessageRateLimit: { limit: 10, windowSeconds: 1 },
      trustProxy: 2,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 1000,
    })
  })

  it.each([
    ['PARLEY_PORT', '70000'],
    ['PARLEY_HISTORY_CACHE_MB', '-1'],
    ['PARLEY_HISTORY_CACHE_MB', 'lots'],
    ['PARLEY_SQLITE_CACHE_MB', '0'],
    ['PARLEY_DATABASE_URL', 'mysql://db'],
    ['PARLEY_USER_RATE_LIMIT', '100 per minute'],
    ['PARLEY_REDIS_URL', 'localhost:6379'],
    ['PARLEY_ADMIN_KEY', 'short'],
    // Credentials of these shapes are judged as tenant keys or session tokens, never as the admin key.
    ['PARLEY_ADMIN_KEY', `sk_live_${'a'.repeat(40)}`],
    ['PARLEY_ADMIN_KEY', `pk_test_${'a'.repeat(40)}`],
    ['PARLEY_ADMIN_KEY', `eyJ${'a'.repeat(40)}`],
    ['PARLEY_ADMIN_KEY', `${'a'.repeat(20)}.${'b'.repeat(20)}.${'c'.repeat(20)}`],
    ['PARLEY_LOG_LEVEL', 'loud'],
    ['PARLEY_HEADERS_TIMEOUT_MS', '0'],
    // The headers are part of the request, so their limit cannot be the longer one.
    ['PARLEY_HEADERS_TIMEOUT_MS', '40000'],
    ['PARLEY_REQUEST_TIMEOUT_MS', 'soon'],
    ['PARLEY_KEEP_ALIVE_TIMEOUT_MS', '-5'],
    ['PARLEY_MAX_CONNECTIONS_PER_IP', '1.5'],
  ])('names %s when its value (%s) is invalid', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError)
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^Invalid configuration: ${variable} `))
  })
})

describe('PARLEY_PLANS', () => {
  const plans = (value: unknown) => loadConfig({ PARLEY_PLANS: typeof value === 'string' ? value : JSON.stringify(value) }).plans

  it('overrides fields of a default plan and adds plans that start from free', () => {
    const merged = plans({ pro: { keysPerEnvironment: 50 }, team: { rateLimit: { limit: 500 } }, free: { keysPerEnvironment: null } })
    expect(merged.pro).toEqual({ keysPerEnvironment: 50, rateLimit: { limit: 1000, windowSeconds: 60 } })
    expect(merged.team).toEqual({ keysPerEnvironment: 3, rateLimit: { limit: 500, windowSeconds: 60 } })
    expect(merged.free!.keysPerEnvironment).toBeNull()
    expect(merged.starter).toEqual({ keysPerEnvironment: 10, rateLimit: { limit: 300, windowSeconds: 60 } })
  })

  it.each([
    // A typo must stop start-up, naming the field, instead of leaving the default silently in place.
    [{ pro: { keys: 50 } }, 'has an unknown field "pro.keys" (allowed there: keysPerEnvironment, rateLimit)'],
    [{ pro: { rateLimit: { limit: 10, window: 60 } } }, 'has an unknown field "pro.rateLimit.window" (allowed there: limit, windowSeconds)'],
    [{ pro: { keysPerEnvironment: '50' } }, 'field "pro.keysPerEnvironment" must be an integer from 1 to 1000000, or null for unlimited (got "50")'],
    [{ pro: { keysPerEnvironment: 0 } }, 'field "pro.keysPerEnvironment" must be an integer from 1 to 1000000'],
    [{ team: { rateLimit: { limit: 2.5 } } }, 'field "team.rateLimit.limit" must be an integer from 1 to 1000000000 (got 2.5)'],
    [{ team: { rateLimit: { windowSeconds: 86_401 } } }, 'field "team.rateLimit.windowSeconds" must be an integer from 1 to 86400'],
    [{ team: { rateLimit: null } }, 'field "team.rateLimit" must be an object with limit and windowSeconds'],
    [{ pro: 50 }, 'field "pro" must be an object with keysPerEnvironment and rateLimit'],
    [{ 'my plan': {} }, 'has an invalid plan name "my plan"'],
    [[{ pro: {} }], 'must be a JSON object'],
    ['{pro: {}}', 'must be a JSON object'],
  ])('refuses %j', (value, message) => {
    expect(() => plans(value)).toThrow(ConfigError)
    expect(() => plans(value)).toThrow(`Invalid configuration: PARLEY_PLANS ${message}`)
  })
})

describe('logs and Redis', () => {
  it('picks the log format by terminal unless PARLEY_LOG_FORMAT says; NO_COLOR turns colours off', () => {
    expect(loadConfig({})).toMatchObject({ logFormat: 'auto', logColors: true })
    expect(loadConfig({ PARLEY_LOG_FORMAT: 'json' }).logFormat).toBe('json')
    expect(loadConfig({ PARLEY_LOG_FORMAT: 'Pretty' }).logFormat).toBe('pretty')
    expect(loadConfig({ NO_COLOR: '1' }).logColors).toBe(false)
    expect(() => loadConfig({ PARLEY_LOG_FORMAT: 'text' })).toThrow(/^Invalid configuration: PARLEY_LOG_FORMAT must be json or pretty/)
  })

  it('prefixes Redis channels and keys with PARLEY_REDIS_PREFIX (default parley:)', () => {
    expect(loadConfig({}).redisPrefix).toBe('parley:')
    expect(loadConfig({ PARLEY_REDIS_PREFIX: 'eu-1:parley:' }).redisPrefix).toBe('eu-1:parley:')
    expect(() => loadConfig({ PARLEY_REDIS_PREFIX: 'two words' })).toThrow(/^Invalid configuration: PARLEY_REDIS_PREFIX /)
    expect(() => loadConfig({ PARLEY_REDIS_PREFIX: 'x'.repeat(65) })).toThrow(/^Invalid configuration: PARLEY_REDIS_PREFIX /)
  })
})
