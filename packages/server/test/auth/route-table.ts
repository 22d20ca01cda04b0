/**
 * THE SHARED AUTH TABLE: every /v1 route, who may call it and how to call it successfully.
 * auth-table.test.ts runs every row against every credential case (missing, malformed, revoked,
 * wrong scope, wrong kind, other tenant, other environment, …), and fails when the app registers a
 * /v1 route that is missing here — so a new route cannot forget its auth.
 *
 * To add a route, add one row:
 *   method, path  exactly as registered (Fastify syntax: `/v1/things/:id`)
 *   callers       the credential kinds the contract admits ('secret' also covers the admin key
 *                 acting on a tenant with x-tenant-id + x-environment); none for a route that takes
 *                 no Parley credential and checks a signature instead (then give `signed`)
 *   scope         the scope a secret key or session token needs (omit when none)
 *   endUsers      with 'session' in callers: which end users the route's own rules let through
 *                 (default both; the other kind gets 403 forbidden from those rules)
 *   ok            the status a valid call answers
 *   body          a minimal valid body, or a function of the fixture's ids when it needs them
 *   signed        with no callers: the headers that sign a body (sent as JSON text); every credential
 *                 case then expects 401 invalid_signature, since none of them signs
 *   dashboard     the dashboard's session routes: 'sign-in' reads the key in its body, not a header
 *                 (the credential cases skip it: test/dashboard/ covers it); 'session' takes only
 *                 the session cookie (its primary credential; any other gets 403 key_type_not_allowed)
 *   fixture       how to make the ids in its path (and body) exist, as the caller's own tenant and
 *                 environment: one of FIXTURES below, or a new function of the same shape. What an
 *                 end user acts on (a conversation, a message) is made so that `owner.actor()` may
 *                 act on it (owner, sender), and that actor's id is returned as `userId`: session
 *                 cases call as that actor, so their answer comes from the credential alone.
 * Credential cases live in auth-table.test.ts (CASES); add one there to test every route against it.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import type { CallerKind } from '../../src/core/caller.js'
import type { Scope } from '../../src/auth/scopes.js'
import { generateKey } from '../../src/auth/key-format.js'
import { TEST_CODE_HOST_KEY, reported, signedHeaders } from '../helpers/leak-reports.js'
import type { TestParley } from '../helpers/parley.js'
import { uniqueSuffix } from '../helpers/values.js'

export type Method = Extract<InjectOptions['method'], 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'>
/** Values for the `:params` of a path (and anything else a body needs). */
export type Ids = Record<string, string>

/** The kinds of end user a session token stands for (the `kind` claim). */
export type EndUser = 'user' | 'visitor'

/** The API as seen by whoever owns a fixture; the calling helpers throw unless the answer is 2xx. */
export interface Owner {
  /** As an unscoped secret key of one tenant and environment. */
  secret(method: Method, url: string, body?: unknown): Promise<any>
  /** As the operator. */
  admin(method: Method, url: string, body?: unknown): Promise<any>
  /** The id of the end user (a user or a visitor, as the case needs) that session cases call as. */
  actor(): Promise<string>
  /** As that end user, with its session token. */
  session(method: Method, url: string, body?: unknown): Promise<any>
}

export type Fixture = (owner: Owner) => Promise<Ids>
export type Body = Record<string, unknown> | unknown[]

export interface RouteRow {
  method: Method
  path: string
  callers: readonly CallerKind[]
  scope?: Scope
  endUsers?: readonly EndUser[]
  ok: number
  body?: Body | ((ids: Ids) => Body)
  signed?: (body: string) => Record<string, string>
  dashboard?: 'sign-in' | 'session'
  fixture?: Fixture
}

const newUserId = () => `u_${uniqueSuffix()}`

async function user(owner: Owner): Promise<string> {
  const id = newUserId()
  await owner.secret('POST', '/v1/users', { id })
  return id
}

/**
 * A group of two: the actor (`userId`), who created it and so is its owner, and another user
 * (`memberId`) the tenant added, as it must for a visitor's conversation (§12); `newUserId` exists
 * but is not a member yet.
 */
async function conversation(o: Owner) {
  const [actor, member, outsider] = [await o.actor(), await user(o), await user(o)]
  const created = await o.session('POST', '/v1/conversations', { type: 'group', members: [] })
  await o.secret('POST', `/v1/conversations/${created.id}/members`, { userIds: [member] })
  return { id: created.id as string, userId: actor, memberId: member, newUserId: outsider }
}

/** Ways to make path ids exist. Each returns fresh resources, so destructive routes can run often. */
export const FIXTURES = {
  key: async (o: Owner) => ({ id: (await o.secret('POST', '/v1/keys', { name: 'fixture', type: 'secret' })).id }),
  user: async (o: Owner) => {
    const id = await user(o)
    return { id, userId: id }
  },
  /** The actor itself, for a body that names it (a visitor may name only itself as a member, §12). */
  actor: async (o: Owner) => ({ userId: await o.actor() }),
  conversation,
  /** A conversation with one message (seq 1) sent by `userId` (the actor). */
  message: async (o: Owner) => {
    const ids = await conversation(o)
    const message = await o.secret('POST', `/v1/conversations/${ids.id}/messages`, { text: 'hello', senderId: ids.userId })
    return { id: ids.id, messageId: message.id, userId: ids.userId }
  },
  tenant: async (o: Owner) => ({ id: (await o.admin('POST', '/v1/admin/tenants', { name: 'fixture' })).tenant.id }),
  webhook,
  /** An endpoint with a delivery in its log (a test event; its host never resolves, so it fails and waits for a retry). */
  webhookDelivery: async (o: Owner) => {
    const { id } = await webhook(o)
    await o.secret('POST', `/v1/webhooks/${id}/test`)
    for (let tries = 0; tries < 500; tries++) {
      const log = await o.secret('GET', `/v1/webhooks/${id}/deliveries`)
      if (log.data.length > 0) return { id, deliveryId: log.data[0].id as string }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    throw new Error('the test event was never queued')
  },
  /** A new unscoped secret key of the caller's own tenant and environment, for a body that carries it. */
  secretKey: async (o: Owner) => ({ key: (await o.secret('POST', '/v1/keys', { name: 'fixture', type: 'secret' })).key as string }),
  /** A device the actor registered itself. Visitors have none (the route refuses them before looking): a made-up id. */
  ownDevice: async (o: Owner) => {
    if ((await o.actor()).startsWith('vis_')) return { id: 'dev_visitorsHaveNoDevices00' }
    return { id: (await o.session('POST', '/v1/me/devices', { provider: 'apns', token: apnsToken() })).id as string }
  },
  /** A user (`userId`) with a device (`id`) the tenant registered. */
  userDevice: async (o: Owner) => {
    const userId = await user(o)
    return { userId, id: (await o.secret('POST', `/v1/users/${userId}/devices`, { provider: 'apns', token: apnsToken() })).id as string }
  },
} satisfies Record<string, Fixture>

/** Hosts under .invalid never resolve: an endpoint that passes the address rules and reaches nobody. */
const HOOK_URL = 'https://hooks.example.invalid/parley'

/**
 * A fresh webhook endpoint. An environment holds a bounded number of them, so the ones earlier
 * cases made (done with by now: cases run one after another) are deleted first.
 */
async function webhook(o: Owner) {
  for (const old of (await o.secret('GET', '/v1/webhooks?limit=200')).data) await o.secret('DELETE', `/v1/webhooks/${old.id}`)
  return { id: (await o.secret('POST', '/v1/webhooks', { url: HOOK_URL, events: ['*'] })).id as string }
}

/** A fresh APNs device token (64 hex characters). */
const apnsToken = () => randomBytes(32).toString('hex')

/** Provider settings that pass every check (real key kinds; nothing is sent with them here). */
const PUSH_SETTINGS = {
  apns: {
    teamId: 'TEAM123456',
    keyId: 'KEY1234567',
    bundleId: 'com.example.chat',
    production: false,
    privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  },
  fcm: {
    serviceAccount: {
      project_id: 'parley-test',
      client_email: 'push@parley-test.iam.gserviceaccount.com',
      private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    },
  },
  webpush: { subject: 'mailto:ops@example.com' },
}

/** The provider set first, so that removing it succeeds. */
const pushProvider = (type: keyof typeof PUSH_SETTINGS) => async (o: Owner) => (await o.secret('PUT', `/v1/push/providers/${type}`, PUSH_SETTINGS[type]), {})

/** A route that takes no Parley credential: a code host signs what it sends (§11). */
const NONE = [] as const
const ADMIN = ['admin'] as const
/** Whoever signs in to the dashboard: the operator, or a tenant's secret key. */
const DASHBOARD = ['admin', 'secret'] as const
const SECRET = ['secret'] as const
const CHAT = ['secret', 'session'] as const
const SESSION = ['session'] as const
const PUBLISHABLE = ['publishable'] as const
/** Route rules that narrow the session callers (docs/api.md "What visitors may do", §4.3). */
const USERS_ONLY = ['user'] as const
const VISITORS_ONLY = ['visitor'] as const

export const ROUTES: RouteRow[] = [
  // Operator (§2)
  { method: 'POST', path: '/v1/admin/tenants', callers: ADMIN, ok: 201, body: { name: 'New tenant' } },
  { method: 'GET', path: '/v1/admin/tenants', callers: ADMIN, ok: 200 },
  { method: 'GET', path: '/v1/admin/tenants/:id', callers: ADMIN, ok: 200, fixture: FIXTURES.tenant },
  { method: 'PATCH', path: '/v1/admin/tenants/:id', callers: ADMIN, ok: 200, body: { name: 'Renamed' }, fixture: FIXTURES.tenant },
  { method: 'DELETE', path: '/v1/admin/tenants/:id', callers: ADMIN, ok: 204, fixture: FIXTURES.tenant },
  { method: 'POST', path: '/v1/admin/signing-keys/rotate', callers: ADMIN, ok: 201 },

  // Keys (§3)
  { method: 'POST', path: '/v1/keys', callers: SECRET, scope: 'keys:write', ok: 201, body: { name: 'new', type: 'secret' } },
  { method: 'GET', path: '/v1/keys', callers: SECRET, scope: 'keys:read', ok: 200 },
  { method: 'GET', path: '/v1/keys/:id', callers: SECRET, scope: 'keys:read', ok: 200, fixture: FIXTURES.key },
  { method: 'PATCH', path: '/v1/keys/:id', callers: SECRET, scope: 'keys:write', ok: 200, body: { name: 'renamed' }, fixture: FIXTURES.key },
  { method: 'POST', path: '/v1/keys/:id/revoke', callers: SECRET, scope: 'keys:write', ok: 200, fixture: FIXTURES.key },
  { method: 'POST', path: '/v1/keys/:id/roll', callers: SECRET, scope: 'keys:write', ok: 201, fixture: FIXTURES.key },
  { method: 'GET', path: '/v1/keys/:id/usage', callers: SECRET, scope: 'usage:read', ok: 200, fixture: FIXTURES.key },
  { method: 'GET', path: '/v1/usage', callers: SECRET, scope: 'usage:read', ok: 200 },
  { method: 'GET', path: '/v1/alerts', callers: SECRET, scope: 'usage:read', ok: 200 },
  { method: 'PUT', path: '/v1/alerts', callers: SECRET, scope: 'keys:write', ok: 200, body: { nearLimit: { percent: 90 } } },
  { method: 'GET', path: '/v1/alerts/events', callers: SECRET, scope: 'usage:read', ok: 200 },
  { method: 'GET', path: '/v1/me', callers: CHAT, ok: 200 },

  // Users and session tokens (§4.1, §4.2)
  { method: 'POST', path: '/v1/users', callers: SECRET, scope: 'users:write', ok: 201, body: () => ({ id: newUserId() }) },
  { method: 'GET', path: '/v1/users', callers: SECRET, scope: 'users:read', ok: 200 },
  { method: 'GET', path: '/v1/users/:id', callers: SECRET, scope: 'users:read', ok: 200, fixture: FIXTURES.user },
  { method: 'PATCH', path: '/v1/users/:id', callers: SECRET, scope: 'users:write', ok: 200, body: { displayName: 'New name' }, fixture: FIXTURES.user },
  { method: 'DELETE', path: '/v1/users/:id', callers: SECRET, scope: 'users:write', ok: 204, fixture: FIXTURES.user },
  { method: 'POST', path: '/v1/users/:id/revoke-tokens', callers: SECRET, scope: 'users:write', ok: 204, fixture: FIXTURES.user },
  { method: 'POST', path: '/v1/auth/token', callers: SECRET, scope: 'tokens:write', ok: 201, body: (ids) => ({ userId: ids.userId }), fixture: FIXTURES.user },

  // Visitors and identity (§4.3)
  { method: 'POST', path: '/v1/identity/init', callers: PUBLISHABLE, ok: 201, body: { visitorId: 'device-1' } },
  { method: 'GET', path: '/v1/tenant', callers: PUBLISHABLE, ok: 200 },
  // Refresh renews visitor sessions only; a user's backend mints its tokens (403 forbidden for users).
  { method: 'POST', path: '/v1/identity/refresh', callers: SESSION, endUsers: VISITORS_ONLY, ok: 200 },
  { method: 'GET', path: '/v1/identity/me', callers: SESSION, ok: 200 },

  // Conversations (§5.1)
  { method: 'POST', path: '/v1/conversations', callers: CHAT, scope: 'conversations:write', ok: 201, body: (ids) => ({ type: 'group', members: [ids.userId] }), fixture: FIXTURES.actor },
  { method: 'GET', path: '/v1/conversations', callers: CHAT, scope: 'conversations:read', ok: 200 },
  { method: 'GET', path: '/v1/conversations/:id', callers: CHAT, scope: 'conversations:read', ok: 200, fixture: FIXTURES.conversation },
  // Renaming, deleting and adding members are for owners; a visitor is refused even as the owner.
  { method: 'PATCH', path: '/v1/conversations/:id', callers: CHAT, scope: 'conversations:write', endUsers: USERS_ONLY, ok: 200, body: { name: 'Renamed' }, fixture: FIXTURES.conversation },
  { method: 'DELETE', path: '/v1/conversations/:id', callers: CHAT, scope: 'conversations:write', endUsers: USERS_ONLY, ok: 204, fixture: FIXTURES.conversation },
  { method: 'POST', path: '/v1/conversations/:id/members', callers: CHAT, scope: 'conversations:write', endUsers: USERS_ONLY, ok: 200, body: (ids) => ({ userIds: [ids.newUserId] }), fixture: FIXTURES.conversation },
  // `:userId` is the actor itself: a session caller leaving, which visitors may do too.
  { method: 'DELETE', path: '/v1/conversations/:id/members/:userId', callers: CHAT, scope: 'conversations:write', ok: 204, fixture: FIXTURES.conversation },
  { method: 'GET', path: '/v1/me/unread', callers: SESSION, scope: 'conversations:read', ok: 200 },

  // Messages (§5.2, §5.3)
  { method: 'POST', path: '/v1/conversations/:id/messages', callers: CHAT, scope: 'messages:write', ok: 201, body: (ids) => ({ text: 'hi', senderId: ids.userId }), fixture: FIXTURES.conversation },
  { method: 'GET', path: '/v1/conversations/:id/messages', callers: CHAT, scope: 'messages:read', ok: 200, fixture: FIXTURES.message },
  // Editing and deleting are for the sender; a visitor is refused even on its own message.
  { method: 'PATCH', path: '/v1/conversations/:id/messages/:messageId', callers: CHAT, scope: 'messages:write', endUsers: USERS_ONLY, ok: 200, body: { text: 'edited' }, fixture: FIXTURES.message },
  { method: 'DELETE', path: '/v1/conversations/:id/messages/:messageId', callers: CHAT, scope: 'messages:delete', endUsers: USERS_ONLY, ok: 204, fixture: FIXTURES.message },
  { method: 'POST', path: '/v1/conversations/:id/read', callers: CHAT, scope: 'messages:read', ok: 200, body: (ids) => ({ seq: 1, userId: ids.userId }), fixture: FIXTURES.message },

  // Webhooks (§7)
  { method: 'GET', path: '/v1/webhooks/event-types', callers: SECRET, scope: 'webhooks:read', ok: 200 },
  { method: 'POST', path: '/v1/webhooks', callers: SECRET, scope: 'webhooks:write', ok: 201, body: { url: HOOK_URL, events: ['*'] }, fixture: async (o) => (await webhook(o), {}) },
  { method: 'GET', path: '/v1/webhooks', callers: SECRET, scope: 'webhooks:read', ok: 200 },
  { method: 'GET', path: '/v1/webhooks/:id', callers: SECRET, scope: 'webhooks:read', ok: 200, fixture: FIXTURES.webhook },
  { method: 'PATCH', path: '/v1/webhooks/:id', callers: SECRET, scope: 'webhooks:write', ok: 200, body: { description: 'renamed' }, fixture: FIXTURES.webhook },
  { method: 'DELETE', path: '/v1/webhooks/:id', callers: SECRET, scope: 'webhooks:write', ok: 204, fixture: FIXTURES.webhook },
  { method: 'POST', path: '/v1/webhooks/:id/test', callers: SECRET, scope: 'webhooks:write', ok: 202, fixture: FIXTURES.webhook },
  { method: 'POST', path: '/v1/webhooks/:id/rotate-secret', callers: SECRET, scope: 'webhooks:write', ok: 200, fixture: FIXTURES.webhook },
  { method: 'POST', path: '/v1/webhooks/:id/recover', callers: SECRET, scope: 'webhooks:write', ok: 202, body: () => ({ since: new Date(Date.now() - 3600_000).toISOString() }), fixture: FIXTURES.webhook },
  { method: 'GET', path: '/v1/webhooks/:id/deliveries', callers: SECRET, scope: 'webhooks:read', ok: 200, fixture: FIXTURES.webhook },
  { method: 'POST', path: '/v1/webhooks/:id/deliveries/:deliveryId/retry', callers: SECRET, scope: 'webhooks:write', ok: 202, fixture: FIXTURES.webhookDelivery },

  // Push (§10): providers and the log (secret key); a user's own devices (any user token, no
  // extra scope; visitors are refused by the route's rules); any user's devices (secret key); mutes.
  ...(['apns', 'fcm', 'webpush'] as const).flatMap((type): RouteRow[] => [
    { method: 'PUT', path: `/v1/push/providers/${type}`, callers: SECRET, scope: 'push:write', ok: 200, body: PUSH_SETTINGS[type] },
    { method: 'DELETE', path: `/v1/push/providers/${type}`, callers: SECRET, scope: 'push:write', ok: 204, fixture: pushProvider(type) },
  ]),
  { method: 'GET', path: '/v1/push/providers', callers: SECRET, scope: 'push:read', ok: 200 },
  { method: 'GET', path: '/v1/push/deliveries', callers: SECRET, scope: 'push:read', ok: 200 },
  { method: 'POST', path: '/v1/me/devices', callers: SESSION, endUsers: USERS_ONLY, ok: 201, body: () => ({ provider: 'apns', token: apnsToken() }) },
  { method: 'GET', path: '/v1/me/devices', callers: SESSION, endUsers: USERS_ONLY, ok: 200 },
  { method: 'DELETE', path: '/v1/me/devices/:id', callers: SESSION, endUsers: USERS_ONLY, ok: 204, fixture: FIXTURES.ownDevice },
  { method: 'POST', path: '/v1/users/:userId/devices', callers: SECRET, scope: 'push:write', ok: 201, body: () => ({ provider: 'apns', token: apnsToken() }), fixture: FIXTURES.user },
  { method: 'GET', path: '/v1/users/:userId/devices', callers: SECRET, scope: 'push:read', ok: 200, fixture: FIXTURES.user },
  { method: 'DELETE', path: '/v1/users/:userId/devices/:id', callers: SECRET, scope: 'push:write', ok: 204, fixture: FIXTURES.userDevice },
  { method: 'PUT', path: '/v1/conversations/:id/mute', callers: SESSION, ok: 204, body: { until: '2099-01-01T00:00:00Z' }, fixture: FIXTURES.conversation },
  { method: 'DELETE', path: '/v1/conversations/:id/mute', callers: SESSION, ok: 204, fixture: FIXTURES.conversation },

  // Leaked-key reports (§11): a well-formed key nobody holds, so reporting it revokes nothing.
  { method: 'POST', path: '/v1/security/leaked-keys', callers: NONE, ok: 200, body: [reported(generateKey('sk_live_'))], signed: (body) => signedHeaders(body, TEST_CODE_HOST_KEY) },
  { method: 'POST', path: '/v1/admin/leaked-keys', callers: ADMIN, ok: 200, body: [reported(generateKey('sk_live_'))] },

  // The dashboard's sign-in session (DASHBOARD.md): the admin key or a secret key in the body, then the cookie alone.
  { method: 'POST', path: '/v1/dashboard/session', callers: DASHBOARD, dashboard: 'sign-in', ok: 200, body: (ids) => ({ key: ids.key }), fixture: FIXTURES.secretKey },
  { method: 'GET', path: '/v1/dashboard/session', callers: DASHBOARD, dashboard: 'session', ok: 200 },
  { method: 'DELETE', path: '/v1/dashboard/session', callers: DASHBOARD, dashboard: 'session', ok: 204 },
]

export const admits = (route: RouteRow, kind: CallerKind): boolean => route.callers.includes(kind)
export const isOperatorRoute = (route: RouteRow): boolean => route.callers.length === 1 && route.callers[0] === 'admin'
/** No Parley credential: the route checks a signature (its row's `signed`). */
export const isSignedRoute = (route: RouteRow): boolean => route.callers.length === 0
export const hasPathIds = (route: RouteRow): boolean => route.path.includes('/:')
/** Only a publishable key may call it (§1.2: identity/init, GET /v1/tenant). */
export const isPublishableOnly = (route: RouteRow): boolean => route.callers.length > 0 && route.callers.every((kind) => kind === 'publishable')
/** Does the route take a session token of this kind of end user, its own rules included? */
export const admitsEndUser = (route: RouteRow, who: EndUser): boolean =>
  admits(route, 'session') && (route.endUsers ?? ['user', 'visitor']).includes(who)
/** The end user a route is normally called as with a session token: a user where users may. */
export const endUserOf = (route: RouteRow): EndUser => (admitsEndUser(route, 'user') || !admitsEndUser(route, 'visitor') ? 'user' : 'visitor')

/** The path with its `:params` filled in from `ids`. */
export function pathOf(route: RouteRow, ids: Ids): string {
  return route.path.replace(/:(\w+)/g, (_, name: string) => {
    const value = ids[name]
    if (value === undefined) throw new Error(`${route.method} ${route.path}: its fixture gives no "${name}"`)
    return encodeURIComponent(value)
  })
}

export function bodyOf(route: RouteRow, ids: Ids): Body | undefined {
  return typeof route.body === 'function' ? route.body(ids) : route.body
}

/**
 * "METHOD /path" of every API route the app registered, from Fastify's onRoute hook (recorded by
 * startParley): the /v1 routes the table must cover, without the HEAD and OPTIONS routes Fastify
 * and CORS add beside them.
 */
export function registeredApiRoutes(t: TestParley): string[] {
  return t.routes.filter((route) => / \/v1\//.test(route) && !/^(HEAD|OPTIONS) /.test(route))
}
