/**
 * The shared auth suite (ARCHITECTURE.md practice 8): every /v1 route of auth/route-table.ts
 * against every credential case below. Each route also gets a positive control (its primary
 * credential succeeds), so a refusal here always comes from the credential, never from a wrong path
 * or body in the table.
 *
 * To add a credential case, add one row to CASES: which routes it applies to, the headers that
 * carry the credential (World builds and caches credentials; add a builder there when needed), who
 * owns the resources in the path, and the answer expected.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../src/auth/key-format.js'
import { SCOPES, type Scope } from '../src/auth/scopes.js'
import { type Ids, type Method, type Owner, ROUTES, type RouteRow, admits, bodyOf, hasPathIds, isOperatorRoute, pathOf } from './auth/route-table.js'
import { type Response, type TestParley, type TestTenant, startParley } from './helpers/parley.js'

type Headers = Record<string, string>

interface Expect {
  status: number
  /** The problem code; omitted for success. */
  code?: string
  /** The WWW-Authenticate header expected (exact string or pattern). */
  challenge?: string | RegExp
}

interface Case {
  name: string
  applies(route: RouteRow): boolean
  credential(w: World, route: RouteRow): Promise<Headers> | Headers
  /** A query string to append (credentials there must be ignored). */
  query?(w: World): string
  /** Who owns the resources named in the path (default: the caller's own tenant and environment). */
  owner?: 'otherTenant' | 'otherEnvironment'
  expect(route: RouteRow): Expect
  /** A contract breach this case still shows: the test is marked as failing until it is fixed. */
  knownBug?(route: RouteRow): string | null
}

const CHALLENGE = /^Bearer realm="parley"/
const refused = (status: number, code: string, challenge?: string | RegExp) => (): Expect => ({ status, code, challenge })
const everyRoute = () => true
const bearer = (credential: string): Headers => ({ authorization: `Bearer ${credential}` })
const apiKey = (key: string): Headers => ({ 'x-api-key': key })

const CASES: Case[] = [
  { name: 'no credentials', applies: everyRoute, credential: () => ({}), expect: refused(401, 'authentication_required', 'Bearer realm="parley"') },
  {
    name: 'a key sent only in the query string',
    applies: everyRoute,
    credential: () => ({}),
    query: (w) => `?api_key=${w.secret}&apiKey=${w.secret}&access_token=${w.t.adminKey}`,
    expect: refused(401, 'authentication_required'),
  },
  { name: 'a malformed key', applies: everyRoute, credential: () => apiKey('sk_live_abc'), expect: refused(401, 'invalid_api_key', CHALLENGE) },
  { name: 'a credential of no known shape', applies: everyRoute, credential: () => bearer('hello-there'), expect: refused(401, 'invalid_api_key', CHALLENGE) },
  { name: 'a key with a bad checksum', applies: everyRoute, credential: (w) => bearer(w.badChecksum), expect: refused(401, 'invalid_api_key', CHALLENGE) },
  { name: 'an unknown well-formed key', applies: everyRoute, credential: () => apiKey(generateKey('sk_live_')), expect: refused(401, 'invalid_api_key', CHALLENGE) },
  { name: 'a revoked key', applies: everyRoute, credential: (w) => bearer(w.revoked), expect: refused(401, 'invalid_api_key', CHALLENGE) },
  { name: 'an expired key', applies: everyRoute, credential: (w) => apiKey(w.expired), expect: refused(401, 'invalid_api_key', CHALLENGE) },
  { name: 'a key rolled past its grace', applies: everyRoute, credential: (w) => bearer(w.rolled), expect: refused(401, 'invalid_api_key', CHALLENGE) },
  { name: 'a key of a deleted tenant', applies: everyRoute, credential: (w) => bearer(w.deletedTenantKey), expect: refused(401, 'invalid_api_key', CHALLENGE) },
  { name: 'a key of a suspended tenant', applies: everyRoute, credential: (w) => bearer(w.suspendedTenantKey), expect: refused(403, 'forbidden') },
  {
    name: 'a key lacking the route’s scope',
    applies: (r) => admits(r, 'secret') && r.scope !== undefined,
    credential: async (w, r) => bearer(await w.keyWithout(r.scope!)),
    expect: (r) => ({ status: 403, code: 'insufficient_scope', challenge: `Bearer error="insufficient_scope", scope="${r.scope}"` }),
  },
  {
    name: 'a publishable key',
    applies: (r) => !admits(r, 'publishable'),
    credential: async (w) => apiKey(await w.publishable()),
    expect: refused(403, 'key_type_not_allowed'),
  },
  { name: 'a tenant secret key on an operator route', applies: isOperatorRoute, credential: (w) => bearer(w.secret), expect: refused(403, 'forbidden') },
  {
    name: 'a secret key on a route for other credentials',
    applies: (r) => !admits(r, 'secret') && !isOperatorRoute(r),
    credential: (w) => bearer(w.secret),
    expect: refused(403, 'key_type_not_allowed'),
  },
  {
    name: 'a session token on a route that does not take one',
    applies: (r) => !admits(r, 'session'),
    credential: async (w) => bearer(await w.userToken()),
    expect: refused(403, 'forbidden'),
  },
  {
    name: 'the admin key acting on a tenant',
    applies: (r) => admits(r, 'secret'),
    credential: (w) => ({ ...bearer(w.t.adminKey), 'x-tenant-id': w.tenant.id, 'x-environment': 'live' }),
    expect: (r) => ({ status: r.ok }),
  },
  {
    name: 'the admin key naming no tenant on a tenant route',
    applies: (r) => admits(r, 'secret'),
    credential: (w) => bearer(w.t.adminKey),
    expect: refused(400, 'invalid_request'),
  },
  {
    name: 'the route’s own key with x-tenant-id of another tenant',
    applies: (r) => admits(r, 'secret') || admits(r, 'publishable'),
    credential: async (w, r) => ({ ...(await w.primary(r)), 'x-tenant-id': w.other.id }),
    expect: refused(401, 'tenant_mismatch', CHALLENGE),
  },
  {
    name: 'an id of another tenant',
    applies: (r) => hasPathIds(r) && !isOperatorRoute(r),
    credential: (w, r) => w.primary(r),
    owner: 'otherTenant',
    expect: refused(404, 'not_found'),
  },
  {
    name: 'an id of the other environment',
    applies: (r) => hasPathIds(r) && !isOperatorRoute(r),
    credential: (w, r) => w.primary(r),
    owner: 'otherEnvironment',
    expect: refused(404, 'not_found'),
  },
]

/** The tenants, owners and credentials every case draws on; built once, cached. */
class World {
  secret = ''
  badChecksum = ''
  revoked = ''
  expired = ''
  rolled = ''
  deletedTenantKey = ''
  suspendedTenantKey = ''
  owners!: Record<'self' | 'otherTenant' | 'otherEnvironment', Owner>
  private readonly cache = new Map<string, Promise<string>>()

  constructor(
    readonly t: TestParley,
    readonly tenant: TestTenant,
    readonly other: TestTenant,
  ) {}

  async build(): Promise<void> {
    const { t, tenant, other } = this
    this.secret = tenant.liveKey
    this.owners = { self: this.owner(tenant.liveKey), otherTenant: this.owner(other.liveKey), otherEnvironment: this.owner(tenant.testKey) }
    const self = this.owners.self
    const last = this.secret.at(-1) === 'A' ? 'B' : 'A'
    this.badChecksum = this.secret.slice(0, -1) + last

    const revoked = await self.secret('POST', '/v1/keys', { name: 'revoked', type: 'secret' })
    await self.secret('POST', `/v1/keys/${revoked.id}/revoke`)
    this.revoked = revoked.key

    // Expired in storage before its first use, so no cache has seen it alive.
    const expired = await self.secret('POST', '/v1/keys', { name: 'expired', type: 'secret' })
    await t.parley.store.db.updateTable('api_keys').set({ expires_at: '2020-01-01T00:00:00.000Z' }).where('id', '=', expired.id).execute()
    this.expired = expired.key

    const rolled = await self.secret('POST', '/v1/keys', { name: 'rolled', type: 'secret' })
    await self.secret('POST', `/v1/keys/${rolled.id}/roll`, { expiresInSeconds: 0 })
    this.rolled = rolled.key

    const deleted = await t.createTenant()
    await self.admin('DELETE', `/v1/admin/tenants/${deleted.id}`)
    this.deletedTenantKey = deleted.liveKey

    const suspended = await t.createTenant()
    await self.admin('PATCH', `/v1/admin/tenants/${suspended.id}`, { suspended: true })
    this.suspendedTenantKey = suspended.liveKey
  }

  /** A key with every scope except `scope`. */
  keyWithout(scope: Scope): Promise<string> {
    return this.once(`without ${scope}`, async () => {
      const scopes = SCOPES.filter((s) => s !== scope)
      return (await this.owners.self.secret('POST', '/v1/keys', { name: `no ${scope}`, type: 'secret', scopes })).key
    })
  }

  publishable(): Promise<string> {
    return this.once('publishable', async () => (await this.owners.self.secret('POST', '/v1/keys', { name: 'widget', type: 'publishable' })).key)
  }

  /** A session token of an end user (live). */
  userToken(): Promise<string> {
    return this.once('user token', async () => {
      const userId = `token-user-${randomBytes(4).toString('hex')}`
      await this.owners.self.secret('POST', '/v1/users', { id: userId })
      return (await this.owners.self.secret('POST', '/v1/auth/token', { userId })).token
    })
  }

  /** A session token of a visitor (live), opened with a publishable key. */
  visitorToken(): Promise<string> {
    return this.once('visitor token', async () => {
      const res = await this.t.call('POST', '/v1/identity/init', { headers: apiKey(await this.publishable()), body: { visitorId: 'table-visitor' } })
      if (res.status !== 201) throw new Error(`visitor init failed: ${res.status} ${res.text}`)
      return res.body.sessionToken as string
    })
  }

  /** The credential a route is normally called with. */
  async primary(route: RouteRow): Promise<Headers> {
    if (isOperatorRoute(route)) return bearer(this.t.adminKey)
    if (admits(route, 'secret')) return bearer(this.secret)
    if (admits(route, 'publishable')) return apiKey(await this.publishable())
    return bearer(await this.visitorToken())
  }

  private owner(key: string): Owner {
    const expectOk = async (auth: string, method: Method, url: string, body?: unknown) => {
      const res = await this.t.call(method, url, { auth, body })
      if (res.status >= 300) throw new Error(`fixture ${method} ${url} failed: ${res.status} ${res.text}`)
      return res.body
    }
    return {
      secret: (method, url, body) => expectOk(key, method, url, body),
      admin: (method, url, body) => expectOk(this.t.adminKey, method, url, body),
    }
  }

  private once(name: string, build: () => Promise<string>): Promise<string> {
    let value = this.cache.get(name)
    if (!value) this.cache.set(name, (value = build()))
    return value
  }
}

let w: World
beforeAll(async () => {
  const t = await startParley()
  // Generous limits: this suite sends hundreds of requests with one key.
  const tenant = await t.createTenant('enterprise')
  await t.call('PATCH', `/v1/admin/tenants/${tenant.id}`, { auth: t.adminKey, body: { rateLimit: { limit: 1_000_000, windowSeconds: 60 } } })
  w = new World(t, tenant, await t.createTenant())
  await w.build()
})
afterAll(() => w.t.close())

/** One request; the test helper raises the per-IP failed-auth throttle, so hundreds of refusals are fine. */
function send(route: RouteRow, headers: Headers, ids: Ids, query = '') {
  return w.t.call(route.method, pathOf(route, ids) + query, { headers, body: bodyOf(route, ids) })
}

function check(res: Response, expected: Expect): void {
  expect(res.status, res.text).toBe(expected.status)
  if (expected.code === undefined) {
    expect(res.headers['content-type'] ?? '').not.toMatch(/problem/)
    return
  }
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(res.body.code, res.text).toBe(expected.code)
  expect(res.body.requestId).toBe(res.headers['x-request-id'])
  if (typeof expected.challenge === 'string') expect(res.headers['www-authenticate']).toBe(expected.challenge)
  else if (expected.challenge) expect(String(res.headers['www-authenticate'])).toMatch(expected.challenge)
}

for (const route of ROUTES) {
  describe(`${route.method} ${route.path}`, () => {
    it(`answers ${route.ok} to its primary credential`, async () => {
      const ids = (await route.fixture?.(w.owners.self)) ?? {}
      const res = await send(route, await w.primary(route), ids)
      check(res, { status: route.ok })
      // Every authenticated response says where its caller stands (§0.3); the admin key is not limited.
      if (!isOperatorRoute(route)) {
        for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) expect(String(res.headers[name]), name).toMatch(/^\d+$/)
      }
    })

    for (const c of CASES.filter((c) => c.applies(route))) {
      const bug = c.knownBug?.(route) ?? null
      const test = bug ? it.fails : it
      test(`${c.name} → ${c.expect(route).status}${bug ? ` (known bug: ${bug})` : ''}`, async () => {
        const ids = (await route.fixture?.(w.owners[c.owner ?? 'self'])) ?? {}
        check(await send(route, await c.credential(w, route), ids, c.query?.(w)), c.expect(route))
      })
    }
  })
}

describe('the table covers the app', () => {
  /** "METHOD /path" of every route the app registered, read from Fastify's route tree. */
  function registeredRoutes(): string[] {
    const tree = w.t.parley.app.printRoutes({ commonPrefix: false })
    const stack: string[] = []
    const found: string[] = []
    for (const line of tree.split('\n')) {
      const match = /^([│ ]*)(?:[├└]── )?(\S+)(?: \(([^)]+)\))?$/.exec(line)
      if (!match) continue
      const depth = match[1]!.length / 4
      stack.length = depth
      stack[depth] = match[2]!
      const path = stack.join('')
      for (const method of match[3]?.split(', ') ?? []) found.push(`${method} ${path}`)
    }
    return found
  }

  it('reads the route tree (sanity check of the parser)', () => {
    const routes = registeredRoutes()
    expect(routes).toContain('GET /healthz')
    expect(routes).toContain('PATCH /v1/conversations/:id/messages/:messageId')
    expect(routes).toContain('POST /v1/keys/:id/roll')
  })

  it('every registered /v1 route has a row, and every row is a registered route', () => {
    const registered = registeredRoutes().filter((r) => / \/v1\//.test(r) && !/^(HEAD|OPTIONS) /.test(r))
    const listed = ROUTES.map((r) => `${r.method} ${r.path}`)
    expect(registered.filter((r) => !listed.includes(r)), 'routes missing from test/auth/route-table.ts').toEqual([])
    expect(listed.filter((r) => !registered.includes(r)), 'rows for routes the app does not have').toEqual([])
    expect(new Set(listed).size).toBe(listed.length)
  })

  it('every /v1 route in the OpenAPI document has a row', async () => {
    const doc = await w.t.call('GET', '/openapi.json')
    const listed = new Set(ROUTES.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`))
    const documented = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    )
    expect(documented.filter((r) => r.includes(' /v1/') && !listed.has(r))).toEqual([])
    expect(documented.length).toBeGreaterThanOrEqual(ROUTES.length)
  })
})
