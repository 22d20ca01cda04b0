import type { Selectable } from 'kysely'
import { type KeyRecord, keyStatus } from '../core/key-record.js'
import { fromJson } from '../lib/json.js'
import type { ApiKeysTable } from '../storage/schema.js'
import type { RateLimit } from '../core/tenant.js'

export function keyFromRow(row: Selectable<ApiKeysTable>): KeyRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    environment: row.environment,
    type: row.type,
    name: row.name,
    keyHash: row.key_hash,
    display: row.display,
    scopes: fromJson<string[]>(row.scopes) ?? [],
    allowedOrigins: fromJson<string[]>(row.allowed_origins),
    rateLimit: fromJson<RateLimit>(row.rate_limit),
    metadata: fromJson<Record<string, unknown>>(row.metadata),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    rolledTo: row.rolled_to,
    visitorTtlSeconds: row.visitor_ttl_seconds,
  }
}

/** Where a key was found in public, as GET /v1/keys/{id} shows it (API.md §11; written by leaks/). */
export interface KeyLeakReport {
  url: string
  source: string
  reportedAt: string
}

/** The public face of a key: never its plaintext or hash. */
export function keyView(key: KeyRecord, lastUsedAt = key.lastUsedAt) {
  return {
    id: key.id,
    name: key.name,
    type: key.type,
    environment: key.environment,
    display: key.display,
    scopes: key.scopes,
    status: keyStatus(key),
    createdAt: key.createdAt,
    lastUsedAt,
    expiresAt: key.expiresAt,
    allowedOrigins: key.allowedOrigins,
    visitorTtlSeconds: key.visitorTtlSeconds,
    rateLimit: key.rateLimit,
    metadata: key.metadata,
  }
}
