import type { Kysely } from 'kysely'
import type { Environment } from '../core/environment.js'
import { toJson } from '../lib/json.js'
import type { Database } from '../storage/schema.js'
import { type User, userFromRow } from './model.js'

export type UserFields = Partial<Pick<User, 'username' | 'displayName' | 'avatarUrl' | 'email' | 'metadata'>>

export class UserStore {
  constructor(private readonly db: Kysely<Database>) {}

  async find(tenantId: string, environment: Environment, id: string): Promise<User | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? userFromRow(row) : null
  }

  async findVisitor(tenantId: string, environment: Environment, visitorKey: string): Promise<User | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .where('visitor_key', '=', visitorKey)
      .executeTakeFirst()
    return row ? userFromRow(row) : null
  }

  /** Ids of the given users that exist (for member checks). */
  async existing(tenantId: string, environment: Environment, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set()
    const rows = await this.db
      .selectFrom('users')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .where('id', 'in', ids)
      .execute()
    return new Set(rows.map((r) => r.id))
  }

  async list(tenantId: string, environment: Environment, limit: number, after: [string, string] | null): Promise<User[]> {
    let query = this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('environment', '=', environment)
    if (after) {
      const [createdAt, id] = after
      query = query.where((eb) =>
        eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]),
      )
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    return rows.map(userFromRow)
  }

  async insert(user: User, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .insertInto('users')
      .values({
        tenant_id: user.tenantId,
        environment: user.environment,
        id: user.id,
        kind: user.kind,
        visitor_key: user.visitorKey,
        username: user.username,
        display_name: user.displayName,
        avatar_url: user.avatarUrl,
        email: user.email,
        metadata: toJson(user.metadata),
        tokens_valid_after: user.tokensValidAfter,
        created_at: user.createdAt,
        updated_at: user.updatedAt,
      })
      .execute()
  }

  async update(
    user: Pick<User, 'tenantId' | 'environment' | 'id'>,
    fields: UserFields & { tokensValidAfter?: string },
    updatedAt: string,
    db: Kysely<Database> = this.db,
  ): Promise<void> {
    await db
      .updateTable('users')
      .set({
        ...(fields.username !== undefined && { username: fields.username }),
        ...(fields.displayName !== undefined && { display_name: fields.displayName }),
        ...(fields.avatarUrl !== undefined && { avatar_url: fields.avatarUrl }),
        ...(fields.email !== undefined && { email: fields.email }),
        ...(fields.metadata !== undefined && { metadata: toJson(fields.metadata) }),
        ...(fields.tokensValidAfter !== undefined && { tokens_valid_after: fields.tokensValidAfter }),
        updated_at: updatedAt,
      })
      .where('tenant_id', '=', user.tenantId)
      .where('environment', '=', user.environment)
      .where('id', '=', user.id)
      .execute()
  }

  async delete(user: Pick<User, 'tenantId' | 'environment' | 'id'>, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .deleteFrom('users')
      .where('tenant_id', '=', user.tenantId)
      .where('environment', '=', user.environment)
      .where('id', '=', user.id)
      .execute()
  }
}
