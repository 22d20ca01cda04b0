/** End users (API.md §4.1): upsert by the tenant's own id, read, edit, delete, revoke tokens. */
import type { TenantCaller } from '../auth/caller.js'
import type { Environment } from '../auth/key-format.js'
import type { Invalidations } from '../cluster/invalidations.js'
import { notFound } from '../errors.js'
import { decodeCursor, pageOf } from '../lib/cursor.js'
import { nowIso } from '../lib/time.js'
import { type User, userView } from './model.js'
import type { UserFields, UserStore } from './store.js'

export interface UpsertUserInput {
  id: string
  username?: string | null
  displayName?: string | null
  avatarUrl?: string | null
  metadata?: Record<string, unknown> | null
}

type Scope = Pick<TenantCaller, 'tenant' | 'environment'>

/** Called after a user is deleted (e.g. to drop memberships and close sockets). */
export type UserDeletedHook = (tenantId: string, environment: Environment, userId: string) => Promise<void> | void

export class UserService {
  private readonly deletedHooks: UserDeletedHook[] = []

  constructor(
    private readonly store: UserStore,
    private readonly invalidations: Invalidations,
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
      await this.store.update(existing, fields, now)
      this.changed(existing)
      return { created: false, user: userView({ ...existing, ...fields, updatedAt: now }) }
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
      await this.store.insert(user)
    } catch (error) {
      // Two concurrent upserts of a new id: the loser becomes an update.
      if (await this.store.find(caller.tenant.id, caller.environment, input.id)) return this.upsert(caller, input)
      throw error
    }
    this.changed(user)
    return { created: true, user: userView(user) }
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
    await this.store.update(user, fields, now)
    this.changed(user)
    return userView({ ...user, ...fields, updatedAt: now })
  }

  async delete(caller: Scope, id: string): Promise<void> {
    const user = await this.find(caller, id)
    await this.store.delete(user)
    this.changed(user)
    for (const hook of this.deletedHooks) await hook(user.tenantId, user.environment, id)
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
