/**
 * The shared auth suite (ARCHITECTURE.md practice 8): every /v1 route of auth/route-table.ts
 * against every credential case below. Each route also gets a positive control (its primary
 * credential succeeds), so a refusal here always comes from the credential, never from a wrong path
 * or body in the table.
 *
 * To add a credential case, add one row to CASES: which routes it applies to, the headers that
 * carry the credential (World builds and caches credentials; add a builder there when needed), who
 * owns the resources in the path, which end user the fixture makes them for, and the answer expected.
 * Expectations are functions of the route row (callers, scope, endUsers), so a new row gets the
 * right answer from every case without touching this file. A route that takes no Parley credential
 * (a signed leak report, §11) answers every case 401 invalid_signature: no credential signs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../src/auth/key-format.js'
import { type EndUser, type Ids, ROUTES, type RouteRow, admits, admitsEndUser, bodyOf, endUserOf, hasPathIds, isOperatorRoute, isPublishableOnly, isSignedRoute, pathOf, registeredApiRoutes } from './auth/route-table.js'
import { leakReportEnv } from './helpers/leak-reports.js'
import { type Response, startParley } from './helpers/parley.js'
import { expectProblem } from './helpers/problems.js'
import { type Headers, type Where, World, apiKey, bearer } from './auth/world.js'

/** Whose tenant and environment: the caller's own, another tenant's, or the test environment of the caller's tenant. */

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
  owner?: Exclude<Where, 'self'>
  /** The end user the fixture makes its resources for (default: endUserOf(route)). */
  actor?: EndUser
  expect(route: RouteRow): Expect
}

const CHALLENGE = /^Bearer realm="parley"/
/** RFC 6750 for a session-token failure (§0.2). */
const TOKEN_CHALLENGE = 'Bearer realm="parley", error="invalid_token"'
const refused = (status: number, code: string, challenge?: string | RegExp) => (): Expect => ({ status, code, challenge })
/** What a signed route answers any case: none carries the code host's signature. */
const UNSIGNED: Expect = { status: 401, code: 'invalid_signature', challenge: CHALLENGE }
const everyRoute = () => true

/** A valid session token of a user or visitor, by the route row (§1.4, §4.3, §9 "Callers on the wrong route"). */
function sessionAnswer(route: RouteRow, who: EndUser): Expect {
  if (admitsEndUser(route, who)) return { status: route.ok }
  // The route takes session tokens, but its own rules refuse this kind of end user (row `endUsers`:
  // a visitor managing a conversation or editing a message, a user refreshing a visitor session).
  if (admits(route, 'session')) return { status: 403, code: 'forbidden' }
  // identity/init and GET /v1/tenant: a credential of the wrong type, not an end user overreaching.
  if (isPublishableOnly(route)) return { status: 403, code: 'key_type_not_allowed' }
  // Tenant-level routes (§9); operator routes likewise, as for a tenant's secret key there.
  return { status: 403, code: 'forbidden' }
}

/** A tenant's dashboard session is the secret key it signed in with: what that key gets (DASHBOARD.md). */
function secretAnswer(route: RouteRow): Expect {
  if (isOperatorRoute(route)) return { status: 403, code: 'forbidden' }
  if (admits(route, 'secret')) return { status: route.ok }
  return { status: 403, code: 'key_type_not_allowed' }
}

/** The operator's dashboard session is the admin key (acting on a tenant where the route takes a secret key). */
function operatorAnswer(route: RouteRow): Expect {
  if (isOperatorRoute(route) || admits(route, 'secret')) return { status: route.ok }
  return { status: 403, code: 'key_type_not_allowed' }
}

/** The dashboard's session routes take only its cookie: the admin key itself is refused there. */
const adminKeyAnswer = (route: RouteRow, otherwise: Expect): Expect => (route.dashboard === 'session' ? { status: 403, code: 'key_type_not_allowed' } : otherwise)
const STATE_CHANGING = ['POST', 'PUT', 'PATCH', 'DELETE']

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
    name: 'the admin key acting on a tenant',
    applies: (r) => admits(r, 'secret'),
    credential: (w) => ({ ...bearer(w.t.adminKey), 'x-tenant-id': w.tenant.id, 'x-environment': 'live' }),
    expect: (r) => adminKeyAnswer(r, { status: r.ok }),
  },
  {
    name: 'the admin key naming no tenant on a tenant route',
    applies: (r) => admits(r, 'secret'),
    credential: (w) => bearer(w.t.adminKey),
    expect: (r) => adminKeyAnswer(r, { status: 400, code: 'invalid_request' }),
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

  // Session tokens (§1.2–1.4, §4.2, §9). On routes with a fixture the token's end user is the one
  // the fixture made the resources for (owner of the conversation, sender of the message).
  { name: 'a user token', applies: everyRoute, credential: (w) => w.token('self', 'user'), actor: 'user', expect: (r) => sessionAnswer(r, 'user') },
  { name: 'a visitor token', applies: everyRoute, credential: (w) => w.token('self', 'visitor'), actor: 'visitor', expect: (r) => sessionAnswer(r, 'visitor') },
  { name: 'an expired token', applies: everyRoute, credential: (w) => bearer(w.expiredToken), expect: refused(401, 'token_expired', TOKEN_CHALLENGE) },
  { name: 'a token minted before revoke-tokens', applies: everyRoute, credential: (w) => bearer(w.revokedToken), expect: refused(401, 'token_revoked', TOKEN_CHALLENGE) },
  {
    name: 'a token lacking the route’s scope',
    applies: (r) => admits(r, 'session') && r.scope !== undefined,
    credential: (w, r) => w.tokenWithout(r.scope!, endUserOf(r)),
    expect: (r) => ({ status: 403, code: 'insufficient_scope', challenge: `Bearer error="insufficient_scope", scope="${r.scope}"` }),
  },
  // A token minted without `scopes` carries its key's (§12): never more than the key that minted it.
  {
    name: 'a token minted without scopes by a key lacking the route’s scope',
    applies: (r) => admits(r, 'session') && r.scope !== undefined,
    credential: async (w, r) => bearer(await w.tokenFromKeyWithout(r.scope!, endUserOf(r))),
    expect: (r) => ({ status: 403, code: 'insufficient_scope', challenge: `Bearer error="insufficient_scope", scope="${r.scope}"` }),
  },
  {
    name: 'a token minted without scopes by a key holding just the route’s scope',
    applies: (r) => admits(r, 'session') && r.scope !== undefined,
    credential: async (w, r) => bearer(await w.tokenFromKey([r.scope!], endUserOf(r))),
    expect: (r) => sessionAnswer(r, endUserOf(r)),
  },
  {
    name: 'another tenant’s token on this tenant’s ids',
    applies: (r) => admits(r, 'session') && hasPathIds(r),
    credential: (w, r) => w.token('otherTenant', endUserOf(r)),
    expect: refused(404, 'not_found'),
  },
  {
    name: 'a test token on live ids',
    applies: (r) => admits(r, 'session') && hasPathIds(r),
    credential: (w, r) => w.token('otherEnvironment', endUserOf(r)),
    expect: refused(404, 'not_found'),
  },
  {
    name: 'another tenant’s token with x-tenant-id of this tenant',
    applies: (r) => admits(r, 'session'),
    credential: async (w, r) => ({ ...(await w.token('otherTenant', endUserOf(r))), 'x-tenant-id': w.tenant.id }),
    expect: refused(401, 'tenant_mismatch', CHALLENGE),
  },

  // The dashboard session cookie (DASHBOARD.md "Signing in"), sent with Parley's own Origin as the
  // dashboard page sends it: the credential it was opened with, on every route.
  { name: 'a tenant’s dashboard session', applies: everyRoute, credential: (w) => w.dashboard('tenant'), expect: secretAnswer },
  {
    name: 'the operator’s dashboard session acting on a tenant',
    applies: everyRoute,
    credential: async (w) => ({ ...(await w.dashboard('operator')), 'x-tenant-id': w.tenant.id, 'x-environment': 'live' }),
    expect: operatorAnswer,
  },
  {
    name: 'a tenant’s dashboard session on another tenant’s ids',
    applies: (r) => hasPathIds(r) && admits(r, 'secret') && !isOperatorRoute(r),
    credential: (w) => w.dashboard('tenant'),
    owner: 'otherTenant',
    expect: refused(404, 'not_found'),
  },
  { name: 'a signed-out dashboard session', applies: everyRoute, credential: (w) => w.endedDashboard('signed out'), expect: refused(401, 'authentication_required', CHALLENGE) },
  { name: 'a dashboard session whose key was revoked', applies: everyRoute, credential: (w) => w.endedDashboard('key revoked'), expect: refused(401, 'invalid_api_key', CHALLENGE) },
  // A page of another site cannot make a browser change anything with the cookie (CSRF), even a valid one.
  {
    name: 'a dashboard session without an Origin',
    applies: (r) => STATE_CHANGING.includes(r.method),
    credential: async (w) => ({ cookie: (await w.dashboard('tenant')).cookie! }),
    expect: refused(403, 'forbidden'),
  },
  {
    name: 'a dashboard session from another origin',
    applies: (r) => STATE_CHANGING.includes(r.method),
    credential: async (w) => ({ ...(await w.dashboard('operator')), origin: 'https://evil.example' }),
    expect: refused(403, 'forbidden'),
  },
]

let w: World
beforeAll(async () => {
  // Likewise for the end users every session case calls as (per-user limits, §1.5).
  // The signed leak-report route trusts the test code host's key.
  const t = await startParley({ env: { PARLEY_USER_RATE_LIMIT: '1000000/60', PARLEY_USER_MESSAGE_RATE_LIMIT: '1000000/60', ...leakReportEnv() } })
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
  expectProblem(res, expected.status, expected.code)
  if (typeof expected.challenge === 'string') expect(res.headers['www-authenticate']).toBe(expected.challenge)
  else if (expected.challenge) expect(String(res.headers['www-authenticate'])).toMatch(expected.challenge)
}

for (const route of ROUTES) {
  describe(`${route.method} ${route.path}`, () => {
    it(`answers ${route.ok} to its primary credential`, async () => {
      const ids = (await route.fixture?.(w.owner('self', endUserOf(route)))) ?? {}
      const res = await send(route, await w.primary(route), ids)
      check(res, { status: route.ok })
      // Every authenticated response says where its caller stands (§0.3); the admin key is not limited,
      // and a signed route has no caller.
      if (!isOperatorRoute(route) && !isSignedRoute(route)) {
        for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) expect(String(res.headers[name]), name).toMatch(/^\d+$/)
      }
    })

    // The dashboard sign-in reads its body's key, no header nor cookie: test/dashboard/ has its cases.
    for (const c of CASES.filter((c) => c.applies(route) && route.dashboard !== 'sign-in')) {
      const expected = isSignedRoute(route) ? UNSIGNED : c.expect(route)
      it(`${c.name} → ${expected.status}`, async () => {
        const ids = (await route.fixture?.(w.owner(c.owner ?? 'self', c.actor ?? endUserOf(route)))) ?? {}
        check(await send(route, await c.credential(w, route), ids, c.query?.(w)), expected)
      })
    }
  })
}

describe('the table covers the app', () => {
  it('sees the routes as they are registered (a check of the onRoute recorder)', () => {
    expect(w.t.routes).toContain('GET /healthz')
    expect(registeredApiRoutes(w.t)).toContain('PATCH /v1/conversations/:id/messages/:messageId')
    expect(registeredApiRoutes(w.t)).toContain('POST /v1/keys/:id/roll')
  })

  it('every registered /v1 route has a row, and every row is a registered route', () => {
    const registered = registeredApiRoutes(w.t)
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
