/**
 * Visitors (API.md §4.3): a publishable key plus a device id opens an anonymous session. The same
 * visitorId in the same tenant and environment is always the same visitor. Visitor tokens live for
 * the key's inactivity lifetime (default 30 minutes) and are extended by refreshing.
 */
import type { PublishableCaller, SessionCaller, TenantCaller } from '../core/caller.js'
import type { SessionTokens } from '../auth/session-tokens.js'
import { ApiError } from '../core/errors.js'
import { randomBase62 } from '../core/ids.js'
import type { KeyStore } from '../keys/store.js'
import { keyStatus } from '../core/key-record.js'
import type { User } from '../users/model.js'
import { userView } from '../users/model.js'
import type { UserService, VisitorProfile } from '../users/service.js'
import type { UserCache } from '../users/user-cache.js'

export const DEFAULT_VISITOR_TTL_S = 1800

export interface InitVisitorInput {
  visitorId?: string
  profile?: VisitorProfile
}

export class IdentityService {
  constructor(
    private readonly users: UserService,
    private readonly userCache: UserCache,
    private readonly keys: KeyStore,
    private readonly tokens: SessionTokens,
  ) {}

  /**
   * A session for the visitor behind this device id (a new visitor without one). A known
   * visitorId is treated as that visitor's secret (API.md §12): the answer carries none of its
   * stored profile beyond what this call sent, and the stored profile stays as it was.
   */
  async init(caller: PublishableCaller, input: InitVisitorInput) {
    const visitorId = input.visitorId ?? randomBase62(22)
    const { created, visitor } = await this.users.findOrCreateVisitor(caller, visitorId, input.profile)
    const minted = await this.tokens.mint({
      tenantId: caller.tenant.id,
      environment: caller.environment,
      userId: visitor.id,
      kind: 'visitor',
      expiresInSeconds: caller.key.visitorTtlSeconds ?? DEFAULT_VISITOR_TTL_S,
      publishableKeyId: caller.key.id,
    })
    const view = created ? visitorView(visitor) : returningVisitorView(visitor, input.profile ?? {})
    return { sessionToken: minted.token, expiresAt: minted.expiresAt, visitor: view }
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

  /** The public fields of a publishable key's tenant (GET /v1/tenant). */
  publicTenant(caller: TenantCaller) {
    return { id: caller.tenant.id, name: caller.tenant.name }
  }
}

export function visitorView(user: User) {
  return { ...userView(user), visitorId: user.visitorKey, email: user.email }
}

/**
 * A known visitor as init describes it: its identity and times, and as profile only what this
 * call sent. Listed field by field, so a profile field added later stays out until chosen here.
 */
function returningVisitorView(visitor: User, sent: VisitorProfile) {
  return {
    id: visitor.id,
    username: null,
    displayName: sent.name ?? null,
    avatarUrl: null,
    metadata: null,
    kind: visitor.kind,
    createdAt: visitor.createdAt,
    updatedAt: visitor.updatedAt,
    visitorId: visitor.visitorKey,
    email: sent.email ?? null,
  }
}
