/** An API key as stored (hash only, never the plaintext) and the status derived from it. */
import type { Environment } from './environment.js'
import type { RateLimit } from './tenant.js'

export type KeyType = 'secret' | 'publishable'

export interface KeyRecord {
  id: string
  tenantId: string
  environment: Environment
  type: KeyType
  name: string
  keyHash: string
  display: string
  scopes: string[]
  allowedOrigins: string[] | null
  rateLimit: RateLimit | null
  metadata: Record<string, unknown> | null
  createdAt: string
  updatedAt: string
  expiresAt: string | null
  revokedAt: string | null
  lastUsedAt: string | null
  rolledTo: string | null
  visitorTtlSeconds: number | null
}

export type KeyStatus = 'active' | 'revoked' | 'expired'

export function keyStatus(key: KeyRecord, now = Date.now()): KeyStatus {
  if (key.revokedAt) return 'revoked'
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return 'expired'
  return 'active'
}
