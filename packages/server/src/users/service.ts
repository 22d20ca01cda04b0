/** End users (API.md §4.1): upsert by the tenant's own id, read, edit, delete, revoke tokens. */
import type { TenantCaller } from '../core/caller.js'
import type { Environment } from '../core/environment.js'
import type { Invalidations } from '../cluster/invalidations.js'
import { notFound } from '../core/errors.js'
import { newId } from '../core/ids.js'
import { decodeCursor, pageOf } from '../lib/cursor.js'
import { isUniqueViolation } from '../storage/database.js'
import { nowIso } from '../lib/time.js'
import { domainEvent } from '../events/outbox.js'
import type { UnitOfWork } from '../events/unit-of-work.js'
import { type User, userView } from './model.js'
import type { UserFields, UserStore } from './store.js'

export interface UpsertUserInput {
  id: string
  username?: string | null
  displayName?: string | null
  avatarUrl?: string | null
  metadata?: Record<string, unknown> | null
}

/** What a visitor's device may say about itself when it first opens a session. */
export interface VisitorProfile {
  name?: string
  email?: string
}

type Scope = Pick<TenantCaller, 'tenant' | 'environment'>

/** Called after a user is deleted (e.g. to drop memberships and close sockets). */
export type UserDeletedHook = (tenantId: string, environment: Environment, userId: string) => Promise<void> | void

export class UserService {
  private readonly deletedHooks: UserDeletedHook[] = []

  constructor(
    private readonly store: UserStore,
    private readonly invalidations: Invalidations,
    /** Each change commits with its user.* event (webhooks). */
    private readonly uow: UnitOfWork,
  ) {}

  onDeleted(hook: UserDeletedHook): void {
    this.deletedHooks.push(hook)
  }

  /** Creates (created: true) or updates the user with this id. */
  async upsert(caller: Scope, input: UpsertUserInput): Promise<{ created: boolean; user: ReturnType<typeof userView> }> {
    const existing = await this.store.find(caller.tenant.id, caller.environment, input.id)
    const now = nowIso()
    const fields = fieldsOf(input)
    if (existing) {
      const user = userView({ ...existing, ...fields, updatedAt: now })
      await this.uow.run(async (trx, emit) => {
        await this.store.update(existing, fields, now, trx)
        emit(domainEvent('user.updated', existing, null, user))
      })
      this.changed(existing)
      return { created: false, user }
    }
    const user: User = {
      tenantId: caller.tenant.id,
      environment: caller.environment,
      id: input.id,
      kind: 'user',
      visitorKey: null,
      username: null,
      displayName: null,
      avatarUrl: null,
      email: null,
      metadata: null,
      ...fields,
      // A user deleted and created again must not revive tokens minted for its earlier life.
      tokensValidAfter: now,
      createdAt: now,
      updatedAt: now,
    }
    try {
      await this.insert(user)
    } catch (error) {
      // Two concurrent upserts of a new id: the loser becomes an update.
      if (await this.store.find(caller.tenant.id, caller.environment, input.id)) return this.upsert(caller, input)
      throw error
    }
    this.changed(user)
    return { created: true, user: userView(user) }
  }

  /**
   * The visitor a device id names in this environment (API.md §4.3), created with `profile` if
   * new. A known visitor is returned as stored and never changed: the device id is the visitor's
   * only secret, so presenting it must not let anyone rewrite the profile (API.md §12).
   */
  async findOrCreateVisitor(caller: Scope, visitorId: string, profile: VisitorProfile = {}): Promise<{ created: boolean; visitor: User }> {
    const { id: tenantId } = caller.tenant
    const existing = await this.store.findVisitor(tenantId, caller.environment, visitorId)
    if (existing) return { created: false, visitor: existing }
    const now = nowIso()
    const visitor: User = {
      tenantId,
      environment: caller.environment,
      id: newId('visitor'),
      kind: 'visitor',
      visitorKey: visitorId,
      username: null,
      displayName: profile.name ?? null,
      avatarUrl: null,
      email: profile.email ?? null,
      metadata: null,
      tokensValidAfter: now,
      createdAt: now,
      updatedAt: now,
    }
    try {
      await this.insert(visitor)
    } catch (error) {
      // The same device opening two sessions at once: the other request created it first.
      if (!isUniqueViolation(error)) throw error
      const winner = await this.store.findVisitor(tenantId, caller.environment, visitorId)
      if (!winner) throw error
      return { created: false, visitor: winner }
    }
    this.changed(visitor)
    return { created: true, visitor }
  }

  async list(caller: Scope, limit: number, cursor: string | undefined) {
    const after = decodeCursor(cursor, 2) as [string, string] | null
    const rows = await this.store.list(caller.tenant.id, caller.environment, limit + 1, after)
    const page = pageOf(rows, limit, (u) => [u.createdAt, u.id])
    return { data: page.data.map(userView), nextCursor: page.nextCursor }
  }

  async get(caller: Scope, id: string) {
    return userView(await this.find(caller, id))
  }

  async find(caller: Scope, id: string): Promise<User> {
    const user = await this.store.find(caller.tenant.id, caller.environment, id)
    if (!user) throw notFound('User')
    return user
  }

  async patch(caller: Scope, id: string, input: Omit<UpsertUserInput, 'id'>) {
    const user = await this.find(caller, id)
    const now = nowIso()
    const fields = fieldsOf(input)
    const view = userView({ ...user, ...fields, updatedAt: now })
    await this.uow.run(async (trx, emit) => {
      await this.store.update(user, fields, now, trx)
      emit(domainEvent('user.updated', user, null, view))
    })
    this.changed(user)
    return view
  }

  async delete(caller: Scope, id: string): Promise<void> {
    const user = await this.find(caller, id)
    await this.uow.run(async (trx, emit, redact) => {
      await this.store.delete(user, trx)
      // Its profile goes from the user.* events still stored (API.md §12).
      await redact.user(user, id)
      emit(domainEvent('user.deleted', user, null, { id }))
    })
    this.changed(user)
    for (const hook of this.deletedHooks) await hook(user.tenantId, user.environment, id)
  }

  /** A new user or visitor and its user.created event, committed together. */
  private async insert(user: User): Promise<void> {
    await this.uow.run(async (trx, emit) => {
      await this.store.insert(user, trx)
      emit(domainEvent('user.created', user, null, userView(user)))
    })
  }

  /** Tells every node's caches (and open sockets) that this user changed. */
  private changed(user: Pick<User, 'tenantId' | 'environment' | 'id'>): void {
    this.invalidations.publish({ type: 'user', tenantId: user.tenantId, environment: user.environment, userId: user.id })
  }

  /** Every token minted before this call fails; every token minted after it works. */
  async revokeTokens(caller: Scope, id: string): Promise<void> {
    const user = await this.find(caller, id)
    // The boundary is one millisecond ahead, and we return only once it has passed, so a token
    // minted in the same millisecond as the call can never be on the wrong side of it.
    const boundary = Date.now() + 1
    await this.store.update(user, { tokensValidAfter: new Date(boundary).toISOString() }, nowIso())
    this.changed(user)
    while (Date.now() <= boundary) await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

function fieldsOf(input: Omit<UpsertUserInput, 'id'>): UserFields {
  const fields: UserFields = {}
  if (input.username !== undefined) fields.username = input.username
  if (input.displayName !== undefined) fields.displayName = input.displayName
  if (input.avatarUrl !== undefined) fields.avatarUrl = input.avatarUrl
  if (input.metadata !== undefined) fields.metadata = input.metadata
  return fields
}
