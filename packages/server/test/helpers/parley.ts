/**
 * A real Parley for tests: the same createParley the CLI uses, on in-memory SQLite (or a fresh
 * PostgreSQL database), with every log line captured so tests can check nothing secret leaks.
 */
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { type Parley, createParley } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import type { Clock } from '../../src/delivery/clock.js'
import { type Engine, createTestDatabase } from './databases.js'

/** The PARLEY_PUBLIC_URL of every Parley startParley starts: problem types and token issuers begin with it. */
export const TEST_PUBLIC_URL = 'http://parley.test'

/** Every log line written by every Parley started in this worker. */
export const capturedLogs: string[] = []

export interface TestParley {
  parley: Parley
  adminKey: string
  publicUrl: string
  /** "METHOD /url" of every route the app registered, as Fastify's onRoute hook saw it (HEAD and OPTIONS included). */
  routes: readonly string[]
  /** fastify.inject with JSON parsing of the response body. */
  call(method: InjectOptions['method'], url: string, options?: CallOptions): Promise<Response>
  /** A new tenant with its default live and test secret keys. */
  createTenant(plan?: string): Promise<TestTenant>
  close(): Promise<void>
}

export interface CallOptions {
  /** Sent as Authorization: Bearer … */
  auth?: string
  headers?: Record<string, string>
  body?: unknown
}

export interface Response {
  status: number
  headers: LightMyRequestResponse['headers']
  body: any
  text: string
}

export interface TestTenant {
  id: string
  liveKey: string
  testKey: string
  liveKeyId: string
  testKeyId: string
}

export async function startParley(
  options: { engine?: Engine; env?: Record<string, string>; databaseUrl?: string; clock?: Clock } = {},
): Promise<TestParley> {
  const database = options.databaseUrl ? null : await createTestDatabase(options.engine ?? 'sqlite')
  const adminKey = `test_admin_${randomBytes(24).toString('hex')}`
  const publicUrl = TEST_PUBLIC_URL
  const config = loadConfig({
    PARLEY_DATABASE_URL: options.databaseUrl ?? database!.url,
    PARLEY_ADMIN_KEY: adminKey,
    PARLEY_PUBLIC_URL: publicUrl,
    PARLEY_LOG_LEVEL: 'info',
    // Suites send hundreds of deliberately bad credentials from one address; the per-IP throttle
    // has its own tests, which lower this again.
    PARLEY_AUTH_FAILURES_PER_MINUTE: '1000000',
    // Likewise every visitor of a suite shares one address (rate-limits.test.ts lowers it again).
    PARLEY_PUBLISHABLE_RATE_LIMIT_PER_IP: '1000000/60',
    ...options.env,
  })
  const logDestination = new Writable({
    write(chunk, _encoding, done) {
      capturedLogs.push(String(chunk))
      done()
    },
  })
  const routes: string[] = []
  const onRoute = ({ method, url }: { method: string | string[]; url: string }) => {
    for (const one of [method].flat()) routes.push(`${one} ${url}`)
  }
  const parley = await createParley(config, { logDestination, onRoute, clock: options.clock })

  const call: TestParley['call'] = async (method, url, { auth, headers = {}, body } = {}) => {
    const response = await parley.app.inject({
      method,
      url,
      headers: { ...(auth && { authorization: `Bearer ${auth}` }), ...headers },
      ...(body !== undefined && { payload: body as InjectOptions['payload'] }),
    })
    let parsed: unknown = null
    try {
      parsed = JSON.parse(response.body)
    } catch {
      parsed = null
    }
    return { status: response.statusCode, headers: response.headers, body: parsed, text: response.body }
  }

  const createTenant = async (plan = 'pro'): Promise<TestTenant> => {
    const res = await call('POST', '/v1/admin/tenants', { auth: adminKey, body: { name: 'Acme', plan } })
    if (res.status !== 201) throw new Error(`tenant creation failed: ${res.status} ${res.text}`)
    return {
      id: res.body.tenant.id,
      liveKey: res.body.keys.live.key,
      testKey: res.body.keys.test.key,
      liveKeyId: res.body.keys.live.id,
      testKeyId: res.body.keys.test.id,
    }
  }

  return {
    parley,
    adminKey,
    publicUrl,
    routes,
    call,
    createTenant,
    close: async () => {
      await parley.close()
      await database?.drop()
    },
  }
}

/**
 * Two Parley nodes sharing one fresh PostgreSQL database (no Redis unless `env` sets
 * PARLEY_REDIS_URL), both with `env`, closed and dropped afterwards.
 */
export async function withTwoNodes(test: (a: TestParley, b: TestParley) => Promise<void>, env: Record<string, string> = {}): Promise<void> {
  const database = await createTestDatabase('postgres')
  const a = await startParley({ databaseUrl: database.url, env })
  const b = await startParley({ databaseUrl: database.url, env })
  try {
    await test(a, b)
  } finally {
    await a.close()
    await b.close()
    await database.drop()
  }
}
