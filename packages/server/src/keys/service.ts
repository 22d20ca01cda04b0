/** API key rules (API.md §1, §3): creation within the caller's scopes and plan, edits, revoke, roll. */
import type { Kysely } from 'kysely'
import type { SecretCaller } from '../auth/caller.js'
import { type Environment, type KeyType, displayOf, generateKey, prefixFor } from '../auth/key-format.js'
import type { LastUsedTracker } from '../auth/last-used.js'
import { firstMissing, isValidScope, isWithin } from '../auth/scopes.js'
import type { Invalidations } from '../cluster/invalidations.js'
import type { PlanConfig } from '../config.js'
import { ApiError, invalidParam, notFound } from '../errors.js'
import { newId } from '../ids.js'
import { decodeCursor, pageOf } from '../lib/cursor.js'
import { sha256Hex } from '../lib/crypto.js'
import { nowIso } from '../lib/time.js'
import type { Database } from '../storage/schema.js'
import type { RateLimit, Tenant } from '../tenants/model.js'
import { type KeyRecord, keyStatus, keyView } from './model.js'
import type { KeyChanges, KeyStore } from './store.js'

export interface CreateKeyInput {
  name: string
  type: KeyType
  scopes?: string[]
  expiresAt?: string | null
  allowedOrigins?: string[] | null
  rateLimit?: RateLimit | null
  metadata?: Record<string, unknown> | null
  visitorTtlSeconds?: number | null
}

export type PatchKeyInput = Partial<
  Pick<CreateKeyInput, 'name' | 'scopes' | 'allowedOrigins' | 'rateLimit' | 'metadata' | 'visitorTtlSeconds'>
>

export class KeyService {
  constructor(
    private readonly store: KeyStore,
    private readonly plans: Record<string, PlanConfig>,
    private readonly invalidations: Invalidations,
    private readonly lastUsed: LastUsedTracker,
  ) {}

  planOf(tenant: Tenant): PlanConfig {
    return this.plans[tenant.plan] ?? this.plans.free!
  }

  /** Builds a key record and its plaintext; the caller stores it. */
  mint(tenantId: string, environment: Environment, input: CreateKeyInput): { record: KeyRecord; plaintext: string } {
    const plaintext = generateKey(prefixFor(input.type, environment))
    const now = nowIso()
    const record: KeyRecord = {
      id: newId('key'),
      tenantId,
      environment,
      type: input.type,
      name: input.name,
      keyHash: sha256Hex(plaintext),
      display: displayOf(plaintext),
      scopes: input.scopes ?? [],
      allowedOrigins: input.allowedOrigins ?? null,
      rateLimit: input.rateLimit ?? null,
      metadata: input.metadata ?? null,
      createdAt: now,
      updatedAt: now,
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
      lastUsedAt: null,
      rolledTo: null,
      visitorTtlSeconds: input.visitorTtlSeconds ?? null,
    }
    return { record, plaintext }
  }

  /** Stores a freshly minted key inside an outer transaction (tenant creation). */
  async insert(record: KeyRecord, db?: Kysely<Database>): Promise<void> {
    await this.store.insert(record, db)
  }

  async create(caller: SecretCaller, input: CreateKeyInput) {
    this.checkSettings(caller, input)
    const scopes = input.scopes ?? []
    if (input.type === 'secret' && !isWithin(scopes, caller.scopes)) {
      const missing = firstMissing(scopes, caller.scopes)
      throw new ApiError('insufficient_scope', `The new key would have ${missing ?? 'full access'}, which the calling key lacks`)
    }
    if (input.expiresAt != null && Date.parse(input.expiresAt) <= Date.now()) {
      throw invalidParam('expiresAt', 'must be in the future')
    }
    // Stored and compared as text (plan limits, roll), so it must be UTC like every other timestamp.
    const expiresAt = input.expiresAt == null ? null : new Date(input.expiresAt).toISOString()
    const limit = this.planOf(caller.tenant).keysPerEnvironment
    if (limit !== null && (await this.store.countActive(caller.tenant.id, caller.environment, nowIso())) >= limit) {
      throw new ApiError('plan_limit_reached', `The ${caller.tenant.plan} plan allows ${limit} active keys per environment`)
    }
    const { record, plaintext } = this.mint(caller.tenant.id, caller.environment, { ...input, scopes, expiresAt })
    await this.store.insert(record)
    return { ...keyView(record), key: plaintext }
  }

  async list(caller: SecretCaller, limit: number, cursor: string | undefined) {
    const after = decodeCursor(cursor, 2) as [string, string] | null
    const rows = await this.store.list(caller.tenant.id, caller.environment, limit + 1, after)
    const page = pageOf(rows, limit, (k) => [k.createdAt, k.id])
    return { data: page.data.map((k) => this.view(k)), nextCursor: page.nextCursor }
  }

  async get(caller: SecretCaller, id: string) {
    return this.view(await this.find(caller, id))
  }

  async patch(caller: SecretCaller, id: string, input: PatchKeyInput) {
    const key = await this.find(caller, id)
    this.checkSettings(caller, { ...input, type: key.type })
    if (input.scopes !== undefined && !isWithin(input.scopes, key.scopes)) {
      throw invalidParam('scopes', 'may only narrow the key’s scopes')
    }
    if (input.scopes !== undefined && !isWithin(input.scopes, caller.scopes)) {
      throw new ApiError('insufficient_scope', `The calling key lacks ${firstMissing(input.scopes, caller.scopes)}`)
    }
    const changes: KeyChanges = {}
    if (input.name !== undefined) changes.name = input.name
    if (input.scopes !== undefined) changes.scopes = input.scopes
    if (input.allowedOrigins !== undefined) changes.allowedOrigins = input.allowedOrigins
    if (input.rateLimit !== undefined) changes.rateLimit = input.rateLimit
    if (input.metadata !== undefined) changes.metadata = input.metadata
    if (input.visitorTtlSeconds !== undefined) changes.visitorTtlSeconds = input.visitorTtlSeconds
    await this.store.update(key.id, changes, nowIso())
    this.invalidations.publish({ type: 'key', hash: key.keyHash })
    return this.get(caller, id)
  }

  async revoke(caller: SecretCaller, id: string) {
    const key = await this.find(caller, id)
    if (key.revokedAt === null) {
      const now = nowIso()
      await this.store.update(key.id, { revokedAt: now }, now)
      this.invalidations.publish({ type: 'key', hash: key.keyHash })
    }
    return this.get(caller, id)
  }

  /** A new secret with the same settings; the old one keeps working for the grace period. */
  async roll(caller: SecretCaller, id: string, graceSeconds: number) {
    const old = await this.find(caller, id)
    if (keyStatus(old) !== 'active') throw new ApiError('invalid_request', `Key ${id} is ${keyStatus(old)} and cannot be rolled`)
    if (old.type === 'secret' && !isWithin(old.scopes, caller.scopes)) {
      throw new ApiError('insufficient_scope', `The calling key lacks ${firstMissing(old.scopes, caller.scopes)}`)
    }
    const { record, plaintext } = this.mint(old.tenantId, old.environment, {
      name: old.name,
      type: old.type,
      scopes: old.scopes,
      expiresAt: old.expiresAt,
      allowedOrigins: old.allowedOrigins,
      rateLimit: old.rateLimit,
      metadata: old.metadata,
      visitorTtlSeconds: old.visitorTtlSeconds,
    })
    const graceEnd = new Date(Date.now() + graceSeconds * 1000).toISOString()
    const oldExpiry = old.expiresAt !== null && old.expiresAt < graceEnd ? old.expiresAt : graceEnd
    await this.store.insertRolled(record, old.id, oldExpiry)
    this.invalidations.publish({ type: 'key', hash: old.keyHash })
    return { ...keyView(record), key: plaintext }
  }

  private async find(caller: SecretCaller, id: string): Promise<KeyRecord> {
    const key = await this.store.find(caller.tenant.id, caller.environment, id)
    if (!key) throw notFound('Key')
    return key
  }

  private view(key: KeyRecord) {
    return keyView(key, this.lastUsed.lastUsed(key.id, key.lastUsedAt))
  }

  /** Checks shared by create and patch: scope syntax, origins, rate limit ceiling. */
  private checkSettings(caller: SecretCaller, input: PatchKeyInput & { type: KeyType }): void {
    input.scopes?.forEach((scope, i) => {
      if (!isValidScope(scope)) throw invalidParam(`scopes[${i}]`, `unknown scope "${scope}"`)
    })
    if (input.type === 'publishable' && input.scopes?.length) {
      throw invalidParam('scopes', 'publishable keys carry no scopes: they can only open visitor sessions')
    }
    if (input.type === 'secret' && input.allowedOrigins != null) {
      throw invalidParam('allowedOrigins', 'only publishable keys have an origin allow-list')
    }
    input.allowedOrigins?.forEach((origin, i) => {
      if (!isOrigin(origin)) throw invalidParam(`allowedOrigins[${i}]`, 'must be an origin like https://app.example.com')
    })
    if (input.rateLimit != null && !caller.isAdmin) {
      // The operator may give a tenant its own default (enterprise plans); it replaces the plan's.
      const plan = caller.tenant.rateLimit ?? this.planOf(caller.tenant).rateLimit
      const asked = input.rateLimit.limit / input.rateLimit.windowSeconds
      if (asked > plan.limit / plan.windowSeconds) {
        throw new ApiError('forbidden', 'A rate limit above the plan default needs the admin key')
      }
    }
  }
}

/** scheme://host[:port], exactly as a browser sends it in Origin. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value
  } catch {
    return false
  }
}
