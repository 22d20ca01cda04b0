/**
 * The world the shared auth table runs in (auth-table.test.ts): two tenants, both environments,
 * the owners of path resources, and every credential a case sends, each built once and cached.
 */
import { randomBytes } from 'node:crypto'
import { SCOPES, type Scope } from '../../src/auth/scopes.js'
import type { TestParley, TestTenant } from '../helpers/parley.js'
import { claimsFor, signWithParleyKey } from '../helpers/session-helpers.js'
import { fromDashboard, sessionCookie } from '../helpers/dashboard.js'
import { type EndUser, type Method, type Owner, type RouteRow, admits, bodyOf, endUserOf, isOperatorRoute, isSignedRoute } from './route-table.js'

export type Headers = Record<string, string>
export type Where = 'self' | 'otherTenant' | 'otherEnvironment'

export const bearer = (credential: string): Headers => ({ authorization: `Bearer ${credential}` })
export const apiKey = (key: string): Headers => ({ 'x-api-key': key })

/** The tenants, owners and credentials every case draws on; built once, cached. */
export class World {
  secret = ''
  badChecksum = ''
  revoked = ''
  expired = ''
  rolled = ''
  deletedTenantKey = ''
  suspendedTenantKey = ''
  /** A user token signed with Parley's own key, an hour past its exp. */
  expiredToken = ''
  /** A user token minted before POST /v1/users/{id}/revoke-tokens. */
  revokedToken = ''
  /** The unscoped secret key of each place fixtures are made in. */
  private keys!: Record<Where, string>
  private readonly cache = new Map<string, Promise<unknown>>()

  constructor(
    readonly t: TestParley,
    readonly tenant: TestTenant,
    readonly other: TestTenant,
  ) {}

  async build(): Promise<void> {
    const { t, tenant, other } = this
    this.secret = tenant.liveKey
    this.keys = { self: tenant.liveKey, otherTenant: other.liveKey, otherEnvironment: tenant.testKey }
    const self = this.owner('self')
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

    // Genuine signature and claims, for the actor (who exists and was never revoked): only exp is wrong.
    const now = Math.floor(Date.now() / 1000)
    const actor = await this.actor('self', 'user')
    this.expiredToken = await signWithParleyKey(t, claimsFor(t, tenant.id, actor.id, { iat: now - 7200, exp: now - 3600 }))

    const gone = `revoked-${randomBytes(4).toString('hex')}`
    await self.secret('POST', '/v1/users', { id: gone })
    this.revokedToken = (await self.secret('POST', '/v1/auth/token', { userId: gone })).token
    await self.secret('POST', `/v1/users/${gone}/revoke-tokens`)
  }

  /** The API as whoever owns resources in `where`, with `actor` as the end user session cases call as. */
  owner(where: Where, actor: EndUser = 'user'): Owner {
    const key = this.keys[where]
    return {
      secret: (method, url, body) => this.expectOk(key, method, url, body),
      admin: (method, url, body) => this.expectOk(this.t.adminKey, method, url, body),
      actor: async () => (await this.actor(where, actor)).id,
      session: async (method, url, body) => this.expectOk((await this.actor(where, actor)).token, method, url, body),
    }
  }

  /** One user and one visitor per place, made on first use; never revoked or deleted by any case. */
  actor(where: Where, kind: EndUser): Promise<{ id: string; token: string }> {
    return this.once(`${kind} of ${where}`, async () => {
      const owner = this.owner(where)
      if (kind === 'user') {
        const id = `actor-${randomBytes(4).toString('hex')}`
        await owner.secret('POST', '/v1/users', { id })
        return { id, token: (await owner.secret('POST', '/v1/auth/token', { userId: id })).token as string }
      }
      const res = await this.t.call('POST', '/v1/identity/init', { headers: apiKey(await this.publishable(where)), body: { visitorId: 'table-visitor' } })
      if (res.status !== 201) throw new Error(`visitor init failed: ${res.status} ${res.text}`)
      return { id: res.body.visitor.id as string, token: res.body.sessionToken as string }
    })
  }

  /** The session token of that place's actor. */
  async token(where: Where, kind: EndUser): Promise<Headers> {
    return bearer((await this.actor(where, kind)).token)
  }

  /** A token of the caller's own actor minted with every scope except `scope`. */
  async tokenWithout(scope: Scope, kind: EndUser): Promise<Headers> {
    return bearer(await this.scopedToken(scope, kind))
  }

  /** The same token, as the credential itself (for sockets). */
  scopedToken(without: Scope, kind: EndUser): Promise<string> {
    return this.once(`${kind} token without ${without}`, async () => {
      const { id } = await this.actor('self', kind)
      const scopes = SCOPES.filter((s) => s !== without)
      return (await this.owner('self').secret('POST', '/v1/auth/token', { userId: id, scopes })).token as string
    })
  }

  /**
   * A token of the caller's own actor minted WITHOUT `scopes` by a key holding exactly `keyScopes`
   * (and tokens:write, to mint it): API.md §12 says it carries the key's scopes.
   */
  tokenFromKey(keyScopes: readonly Scope[], kind: EndUser): Promise<string> {
    return this.once(`${kind} token from a key with ${keyScopes.join(' ')}`, async () => {
      const { id } = await this.actor('self', kind)
      const key = await this.keyWith([...new Set<Scope>([...keyScopes, 'tokens:write'])])
      const res = await this.t.call('POST', '/v1/auth/token', { auth: key, body: { userId: id } })
      if (res.status !== 201) throw new Error(`minting with a scoped key failed: ${res.status} ${res.text}`)
      return res.body.token as string
    })
  }

  /** A token minted without `scopes` by a key holding every scope except `scope`. */
  tokenFromKeyWithout(scope: Scope, kind: EndUser): Promise<string> {
    if (scope === 'tokens:write') throw new Error('a key without tokens:write mints no tokens')
    return this.tokenFromKey(
      SCOPES.filter((s) => s !== scope),
      kind,
    )
  }

  /** A key with every scope except `scope`. */
  keyWithout(scope: Scope): Promise<string> {
    return this.keyWith(SCOPES.filter((s) => s !== scope))
  }

  /** A secret key of the caller's own tenant and environment with exactly these scopes. */
  keyWith(scopes: readonly Scope[]): Promise<string> {
    return this.once(`key with ${[...scopes].sort().join(' ')}`, async () => {
      const body = { name: 'scoped', type: 'secret', scopes }
      return (await this.owner('self').secret('POST', '/v1/keys', body)).key as string
    })
  }

  publishable(where: Where = 'self'): Promise<string> {
    return this.once(`publishable of ${where}`, async () => (await this.owner(where).secret('POST', '/v1/keys', { name: 'widget', type: 'publishable' })).key as string)
  }

  /**
   * A new dashboard session, as the dashboard page sends it (the cookie, and Parley's own Origin):
   * the tenant's unscoped live key, or the operator. New each time: a case may sign it out.
   */
  async dashboard(who: 'tenant' | 'operator'): Promise<Headers> {
    return fromDashboard(this.t, await sessionCookie(this.t, who === 'tenant' ? this.secret : this.t.adminKey))
  }

  /** A dashboard session that has ended: signed out, or its key revoked since sign-in. */
  endedDashboard(how: 'signed out' | 'key revoked'): Promise<Headers> {
    return this.once(`dashboard session ${how}`, async () => {
      const owner = this.owner('self')
      if (how === 'signed out') {
        const headers = await this.dashboard('tenant')
        const res = await this.t.call('DELETE', '/v1/dashboard/session', { headers })
        if (res.status !== 204) throw new Error(`sign-out failed: ${res.status} ${res.text}`)
        return headers
      }
      const key = await owner.secret('POST', '/v1/keys', { name: 'signed in, then revoked', type: 'secret' })
      const headers = fromDashboard(this.t, await sessionCookie(this.t, key.key))
      await owner.secret('POST', `/v1/keys/${key.id}/revoke`)
      return headers
    })
  }

  /** The credential a route is normally called with. */
  async primary(route: RouteRow): Promise<Headers> {
    // The dashboard sign-in's key is in its body; its session routes take the cookie.
    if (route.dashboard === 'sign-in') return {}
    if (route.dashboard === 'session') return this.dashboard('tenant')
    // The body is JSON.stringify'd when sent (TestParley.call), so these are the bytes signed.
    if (isSignedRoute(route)) return route.signed!(JSON.stringify(bodyOf(route, {})))
    if (isOperatorRoute(route)) return bearer(this.t.adminKey)
    if (admits(route, 'secret')) return bearer(this.secret)
    if (admits(route, 'publishable')) return apiKey(await this.publishable())
    return this.token('self', endUserOf(route))
  }

  private async expectOk(auth: string, method: Method, url: string, body?: unknown) {
    const res = await this.t.call(method, url, { auth, body })
    if (res.status >= 300) throw new Error(`fixture ${method} ${url} failed: ${res.status} ${res.text}`)
    return res.body
  }

  private once<T>(name: string, build: () => Promise<T>): Promise<T> {
    let value = this.cache.get(name) as Promise<T> | undefined
    if (!value) this.cache.set(name, (value = build()))
    return value
  }
}
