/**
 * Visitors (API.md §4.3): a publishable key plus a device id opens an anonymous session. The same
 * visitorId in the same tenant and environment is always the same visitor. Visitor tokens live for
 * the key's inactivity lifetime (default 30 minutes) and are extended by refreshing.
 */
import type { PublishableCaller, SessionCaller } from '../auth/caller.js'
import type { SessionTokens } from '../auth/session-tokens.js'
import { ApiError } from '../errors.js'
import { newId, randomBase62 } from '../ids.js'
import type { KeyStore } from '../keys/store.js'
import { keyStatus } from '../keys/model.js'
import { isUniqueViolation } from '../storage/database.js'
import { nowIso } from '../lib/time.js'
import type { User } from '../users/model.js'
import { userView } from '../users/model.js'
import type { UserStore } from '../users/store.js'
import type { UserCache } from '../users/user-cache.js'

export const DEFAULT_VISITOR_TTL_S = 1800

export interface InitVisitorInput {
  visitorId?: string
  profile?: { name?: string; email?: string }
}

export class IdentityService {
  constructor(
    private readonly users: UserStore,
    private readonly userCache: UserCache,
    private readonly keys: KeyStore,
    private readonly tokens: SessionTokens,
  ) {}

  async init(caller: PublishableCaller, input: InitVisitorInput) {
    const visitorId = input.visitorId ?? randomBase62(22)
    const visitor = await this.findOrCreateVisitor(caller, visitorId, input.profile)
    const minted = await this.tokens.mint({
      tenantId: caller.tenant.id,
      environment: caller.environment,
      userId: visitor.id,
      kind: 'visitor',
      expiresInSeconds: caller.key.visitorTtlSeconds ?? DEFAULT_VISITOR_TTL_S,
      publishableKeyId: caller.key.id,
    })
    return { sessionToken: minted.token, expiresAt: minted.expiresAt, visitor: visitorView(visitor) }
  }

  /** A fresh visitor token for a still-valid one, while its publishable key is active. */
  async refresh(caller: SessionCaller) {
    if (caller.userKind !== 'visitor') {
      throw new ApiError('forbidden', 'Only visitor tokens are refreshed here; your backend mints user tokens')
    }
    const key = caller.keyId ? await this.keys.find(caller.tenant.id, caller.environment, caller.keyId) : null
    if (!key || keyStatus(key) !== 'active') {
      throw new ApiError('token_revoked', 'The publishable key behind this session is no longer active')
    }
    const minted = await this.tokens.mint({
      tenantId: caller.tenant.id,
      environment: caller.environment,
      userId: caller.userId,
      kind: 'visitor',
      expiresInSeconds: key.visitorTtlSeconds ?? DEFAULT_VISITOR_TTL_S,
      publishableKeyId: key.id,
    })
    return { sessionToken: minted.token, expiresAt: minted.expiresAt }
  }

  async me(caller: SessionCaller) {
    const cached = await this.userCache.get(caller.tenant.id, caller.environment, caller.userId)
    if (!cached) throw new ApiError('token_revoked', 'This user no longer exists')
    const { user } = cached
    return {
      user: user.kind === 'visitor' ? visitorView(user) : userView(user),
      tenant: { id: caller.tenant.id, name: caller.tenant.name },
      expiresAt: new Date(caller.expiresAt * 1000).toISOString(),
    }
  }

  private async findOrCreateVisitor(caller: PublishableCaller, visitorId: string, profile: InitVisitorInput['profile']): Promise<User> {
    const { id: tenantId } = caller.tenant
    const existing = await this.users.findVisitor(tenantId, caller.environment, visitorId)
    const now = nowIso()
    if (existing) {
      if (profile) {
        const fields = { displayName: profile.name ?? existing.displayName, email: profile.email ?? existing.email }
        await this.users.update(existing, fields, now)
        return { ...existing, ...fields, updatedAt: now }
      }
      return existing
    }
    const visitor: User = {
      tenantId,
      environment: caller.environment,
      id: newId('visitor'),
      kind: 'visitor',
      visitorKey: visitorId,
      username: null,
      displayName: profile?.name ?? null,
      avatarUrl: null,
      email: profile?.email ?? null,
      metadata: null,
      tokensValidAfter: now,
      createdAt: now,
      updatedAt: now,
    }
    try {
      await this.users.insert(visitor)
      return visitor
    } catch (error) {
      // The same device opening two sessions at once: the other request created it first.
      if (!isUniqueViolation(error)) throw error
      const winner = await this.users.findVisitor(tenantId, caller.environment, visitorId)
      if (!winner) throw error
      return winner
    }
  }
}

export function visitorView(user: User) {
  return { ...userView(user), visitorId: user.visitorKey, email: user.email }
}
