/** A webhook endpoint: where a tenant's events of one environment go, and how they are signed. */
import type { Selectable } from 'kysely'
import type { Environment } from '../core/environment.js'
import type { WebhookEndpointsTable } from '../storage/schema.js'

export type DisabledReason = 'failing' | 'gone'

export interface Endpoint {
  id: string
  tenantId: string
  environment: Environment
  url: string
  description: string | null
  events: string[]
  enabled: boolean
  disabledReason: DisabledReason | null
  failingSince: string | null
  /** Sealed by the KEK (secrets.ts). */
  secret: string
  previousSecret: string | null
  previousSecretUntil: string | null
  createdAt: string
  updatedAt: string
}

export function endpointFromRow(row: Selectable<WebhookEndpointsTable>): Endpoint {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    environment: row.environment,
    url: row.url,
    description: row.description,
    events: JSON.parse(row.events) as string[],
    enabled: Boolean(row.enabled),
    disabledReason: row.disabled_reason,
    failingSince: row.failing_since,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretUntil: row.previous_secret_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** The public face of an endpoint: never a secret. */
export function endpointView(endpoint: Endpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    createdAt: endpoint.createdAt,
    updatedAt: endpoint.updatedAt,
  }
}
