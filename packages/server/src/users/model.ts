import type { Selectable } from 'kysely'
import type { Environment } from '../core/environment.js'
import { fromJson } from '../lib/json.js'
import type { UsersTable } from '../storage/schema.js'

export interface User {
  tenantId: string
  environment: Environment
  id: string
  kind: 'user' | 'visitor'
  visitorKey: string | null
  username: string | null
  displayName: string | null
  avatarUrl: string | null
  email: string | null
  metadata: Record<string, unknown> | null
  tokensValidAfter: string | null
  createdAt: string
  updatedAt: string
}

export function userFromRow(row: Selectable<UsersTable>): User {
  return {
    tenantId: row.tenant_id,
    environment: row.environment,
    id: row.id,
    kind: row.kind,
    visitorKey: row.visitor_key,
    username: row.username,
    displayName: row.display_name,
    avatarUrl: row.avatar_url,
    email: row.email,
    metadata: fromJson(row.metadata),
    tokensValidAfter: row.tokens_valid_after,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function userView(user: User) {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    avatarUrl: user.avatarUrl,
    metadata: user.metadata,
    kind: user.kind,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  }
}
