import type { Kysely } from 'kysely'
import type { Environment } from '../auth/key-format.js'
import { toJson } from '../lib/json.js'
import type { Database } from '../storage/schema.js'
import { type KeyRecord, keyFromRow } from './model.js'

export type KeyChanges = Partial<
  Pick<KeyRecord, 'name' | 'scopes' | 'allowedOrigins' | 'rateLimit' | 'metadata' | 'expiresAt' | 'revokedAt' | 'rolledTo' | 'visitorTtlSeconds'>
>

export class KeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(key: KeyRecord, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .insertInto('api_keys')
      .values({
        id: key.id,
        tenant_id: key.tenantId,
        environment: key.environment,
        type: key.type,
        name: key.name,
        key_hash: key.keyHash,
        display: key.display,
        scopes: JSON.stringify(key.scopes),
        allowed_origins: toJson(key.allowedOrigins),
        rate_limit: toJson(key.rateLimit),
        metadata: toJson(key.metadata),
        created_at: key.createdAt,
        updated_at: key.updatedAt,
        expires_at: key.expiresAt,
        revoked_at: key.revokedAt,
        last_used_at: key.lastUsedAt,
        rolled_to: key.rolledTo,
        visitor_ttl_seconds: key.visitorTtlSeconds,
      })
      .execute()
  }

  async findByHash(hash: string): Promise<KeyRecord | null> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst()
    return row ? keyFromRow(row) : null
  }

  async find(tenantId: string, environment: Environment, id: string): Promise<KeyRecord | null> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? keyFromRow(row) : null
  }

  async list(tenantId: string, environment: Environment, limit: number, after: [string, string] | null) {
    let query = this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
    if (after) {
      const [createdAt, id] = after
      query = query.where((eb) =>
        eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]),
      )
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    return rows.map(keyFromRow)
  }

  /** Keys that count towards a plan's limit: not revoked and not past their expiry. */
  async countActive(tenantId: string, environment: Environment, now: string): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async update(id: string, changes: KeyChanges, updatedAt: string, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .updateTable('api_keys')
      .set({
        ...(changes.name !== undefined && { name: changes.name }),
        ...(changes.scopes !== undefined && { scopes: JSON.stringify(changes.scopes) }),
        ...(changes.allowedOrigins !== undefined && { allowed_origins: toJson(changes.allowedOrigins) }),
        ...(changes.rateLimit !== undefined && { rate_limit: toJson(changes.rateLimit) }),
        ...(changes.metadata !== undefined && { metadata: toJson(changes.metadata) }),
        ...(changes.expiresAt !== undefined && { expires_at: changes.expiresAt }),
        ...(changes.revokedAt !== undefined && { revoked_at: changes.revokedAt }),
        ...(changes.rolledTo !== undefined && { rolled_to: changes.rolledTo }),
        ...(changes.visitorTtlSeconds !== undefined && { visitor_ttl_seconds: changes.visitorTtlSeconds }),
        updated_at: updatedAt,
      })
      .where('id', '=', id)
      .execute()
  }

  /** The roll: the new key and the old key's shortened life, in one transaction. */
  async insertRolled(replacement: KeyRecord, oldId: string, oldExpiresAt: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await this.insert(replacement, trx)
      await this.update(oldId, { expiresAt: oldExpiresAt, rolledTo: replacement.id }, replacement.createdAt, trx)
    })
  }

  /** One batched write of many keys' lastUsedAt (called by the flusher, never per request). */
  async touchLastUsed(entries: ReadonlyMap<string, string>): Promise<void> {
    if (entries.size === 0) return
    await this.db.transaction().execute(async (trx) => {
      for (const [id, at] of entries) {
        await trx.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute()
      }
    })
  }
}
