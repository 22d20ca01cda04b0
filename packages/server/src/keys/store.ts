import type { Kysely } from 'kysely'
import type { Environment } from '../core/environment.js'
import { toJson } from '../lib/json.js'
import type { Database } from '../storage/schema.js'
import type { KeyRecord } from '../core/key-record.js'
import { keyFromRow } from './model.js'

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

  /** Sets revoked_at unless the key is revoked already; true when this call revoked it. */
  async revoke(id: string, at: string, db: Kysely<Database> = this.db): Promise<boolean> {
    const result = await db
      .updateTable('api_keys')
      .set({ revoked_at: at, updated_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  /** Keys rolled into `id` that still work (in their grace period). */
  async activePredecessors(tenantId: string, environment: Environment, id: string, now: string): Promise<KeyRecord[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .where('rolled_to', '=', id)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .execute()
    return rows.map(keyFromRow)
  }

  /**
   * The roll: the new key, the old key's shortened life, and the end of the grace of keys rolled
   * into the old one (`endGraceOf`), in one transaction.
   */
  /**
   * Stores a roll: false (and nothing written) when the old key was rolled or revoked meanwhile.
   * The old key's row is claimed first, by a conditional update, so of two concurrent rolls of one
   * key exactly one succeeds (on PostgreSQL the second waits for the first's row lock, then finds
   * the condition false).
   */
  async insertRolled(replacement: KeyRecord, oldId: string, oldExpiresAt: string, endGraceOf: string[] = [], db?: Kysely<Database>): Promise<boolean> {
    const write = async (trx: Kysely<Database>) => {
      const claimed = await trx
        .updateTable('api_keys')
        .set({ expires_at: oldExpiresAt, rolled_to: replacement.id, updated_at: replacement.createdAt })
        .where('id', '=', oldId)
        .where('rolled_to', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      if (Number(claimed.numUpdatedRows) !== 1) return false
      await this.insert(replacement, trx)
      for (const id of endGraceOf) await this.update(id, { expiresAt: replacement.createdAt }, replacement.createdAt, trx)
      return true
    }
    // In the caller's transaction when given one (a roll and its event), else in a transaction of its own.
    return db ? write(db) : this.db.transaction().execute(write)
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
