/** Configuration (config.ts): defaults, and a bad value named in the error instead of a late failure. */
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'

describe('configuration', () => {
  it('starts from documented defaults', () => {
    const config = loadConfig({}, '/srv/parley')
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      storage: { kind: 'sqlite', path: '/srv/parley/parley-data/parley.db' },
      dataDir: '/srv/parley/parley-data',
      publicUrl: 'http://localhost:8080',
      historyCacheMb: 32,
      sqliteCacheMb: 64,
      keyCacheTtlMs: 900,
      userRateLimit: { limit: 1200, windowSeconds: 60 },
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('reads each variable', () => {
    const config = loadConfig({
      PARLEY_PORT: '9000',
      PARLEY_DATABASE_URL: 'postgres://db/parley',
      PARLEY_HISTORY_CACHE_MB: '0',
      PARLEY_USER_MESSAGE_RATE_LIMIT: '10/1',
      PARLEY_TRUST_PROXY: '2',
    })
    expect(config).toMatchObject({
      port: 9000,
      storage: { kind: 'postgres', url: 'postgres://db/parley' },
      historyCacheMb: 0,
      userMessageRateLimit: { limit: 10, windowSeconds: 1 },
      trustProxy: 2,
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
  ])('names %s when its value (%s) is invalid', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError)
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^Invalid configuration: ${variable} `))
  })
})
