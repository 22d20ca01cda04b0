/**
 * Provider settings per tenant environment (the push_providers table). Each provider's settings
 * are split in two: the public fields (shown by GET /v1/push/providers) and the private key(s),
 * sealed by the KEK that protects signing keys and webhook secrets (AES-256-GCM, bound to the
 * tenant, environment and provider), so a copy of the database alone holds no usable key, and no
 * private key is ever returned.
 */
import type { Kysely, Selectable } from 'kysely'
import type { Kek } from '../auth/kek.js'
import type { Environment } from '../core/environment.js'
import type { Database, PushProvidersTable } from '../storage/schema.js'
import type { ApnsSettings } from './apns.js'
import type { FcmSettings } from './fcm.js'
import type { PushScope } from './model.js'
import type { ProviderType } from './provider.js'
import type { WebPushSettings } from './webpush.js'

export interface SettingsOf {
  apns: ApnsSettings
  fcm: FcmSettings
  webpush: WebPushSettings
}

export type AnySettings = { [T in ProviderType]: { type: T; settings: SettingsOf[T] } }[ProviderType]

/** A provider as stored: public fields in the clear, the private part sealed. */
export interface StoredProvider {
  tenantId: string
  environment: Environment
  type: ProviderType
  /** The public fields. */
  settings: Record<string, unknown>
  /** The private part, sealed (changes with every PUT: a fresh IV). */
  secret: string
  createdAt: string
  updatedAt: string
}

/** Which fields of each provider's settings are private. */
function split(provider: AnySettings): { open: Record<string, unknown>; closed: Record<string, unknown> } {
  switch (provider.type) {
    case 'apns': {
      const { privateKey, ...open } = provider.settings
      return { open, closed: { privateKey } }
    }
    case 'fcm': {
      const { private_key, ...account } = provider.settings.serviceAccount
      return { open: { serviceAccount: account }, closed: { private_key } }
    }
    case 'webpush': {
      const { privateKey, ...open } = provider.settings
      return { open, closed: { privateKey } }
    }
  }
}

function join(type: ProviderType, open: Record<string, unknown>, closed: Record<string, unknown>): AnySettings {
  if (type === 'fcm') {
    const account = open.serviceAccount as Omit<FcmSettings['serviceAccount'], 'private_key'>
    return { type, settings: { serviceAccount: { ...account, private_key: closed.private_key as string } } }
  }
  return { type, settings: { ...open, ...closed } } as unknown as AnySettings
}

const context = (scope: PushScope, type: ProviderType) => `push-provider:${scope.tenantId}:${scope.environment}:${type}`

export class ProviderSettingsStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly kek: Kek,
  ) {}

  /** Creates or replaces the provider's settings; returns them as stored. */
  async put(scope: PushScope, provider: AnySettings, now: string): Promise<StoredProvider> {
    const { open, closed } = split(provider)
    const secret = this.kek.encrypt(JSON.stringify(closed), context(scope, provider.type))
    const settings = JSON.stringify(open)
    const row = await this.db
      .insertInto('push_providers')
      .values({ tenant_id: scope.tenantId, environment: scope.environment, type: provider.type, settings, secret, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'environment', 'type']).doUpdateSet({ settings, secret, updated_at: now }))
      .returningAll()
      .executeTakeFirstOrThrow()
    return storedFromRow(row)
  }

  async find(scope: PushScope, type: ProviderType): Promise<StoredProvider | null> {
    const row = await this.db
      .selectFrom('push_providers')
      .selectAll()
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('type', '=', type)
      .executeTakeFirst()
    return row ? storedFromRow(row) : null
  }

  async list(scope: PushScope): Promise<StoredProvider[]> {
    const rows = await this.db
      .selectFrom('push_providers')
      .selectAll()
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .orderBy('type')
      .execute()
    return rows.map(storedFromRow)
  }

  /** True when there was one to delete. */
  async delete(scope: PushScope, type: ProviderType): Promise<boolean> {
    const result = await this.db
      .deleteFrom('push_providers')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('type', '=', type)
      .executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  /** The providers of these tenants (both environments). */
  async ofTenants(db: Kysely<Database>, tenantIds: readonly string[]): Promise<StoredProvider[]> {
    if (tenantIds.length === 0) return []
    const rows = await db.selectFrom('push_providers').selectAll().where('tenant_id', 'in', [...tenantIds]).execute()
    return rows.map(storedFromRow)
  }

  /** Whether any tenant has a provider at all (while none has, the outbox is passed over). */
  async anyExist(db: Kysely<Database>): Promise<boolean> {
    return (await db.selectFrom('push_providers').select('type').limit(1).executeTakeFirst()) !== undefined
  }

  /** `tenant environment` of every configured provider. */
  async scopes(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('push_providers').select(['tenant_id', 'environment']).distinct().execute()
    return new Set(rows.map((row) => scopeKey({ tenantId: row.tenant_id, environment: row.environment })))
  }

  /** The whole settings, private key(s) unsealed: for building the provider, never for an answer. */
  unseal(stored: StoredProvider): AnySettings {
    const closed = JSON.parse(this.kek.decrypt(stored.secret, context(stored, stored.type))) as Record<string, unknown>
    return join(stored.type, stored.settings, closed)
  }
}

export const scopeKey = (scope: PushScope): string => `${scope.tenantId} ${scope.environment}`

function storedFromRow(row: Selectable<PushProvidersTable>): StoredProvider {
  return {
    tenantId: row.tenant_id,
    environment: row.environment,
    type: row.type,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    secret: row.secret,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** GET /v1/push/providers: the type, when it was set, and its public fields (never a private key). */
export function providerView(stored: StoredProvider) {
  return { type: stored.type, configured: true as const, updatedAt: stored.updatedAt, ...stored.settings }
}
