/** API key rules (API.md §1, §3): creation within the caller's scopes and plan, edits, revoke, roll. */
import type { Kysely } from 'kysely'
import type { SecretCaller } from '../core/caller.js'
import type { Environment } from '../core/environment.js'
import type { KeyType } from '../core/key-record.js'
import { displayOf, generateKey, prefixFor } from '../auth/key-format.js'
import type { LastUsedTracker } from './last-used.js'
import { firstMissing, isValidScope, isWithin } from '../auth/scopes.js'
import type { Invalidations } from '../cluster/invalidations.js'
import type { PlanConfig } from '../core/plan.js'
import { defaultRateLimit, planOf } from '../limits/plan-rules.js'
import { ApiError, invalidParam, notFound } from '../core/errors.js'
import { newId } from '../core/ids.js'
import { decodeCursor, pageOf } from '../lib/cursor.js'
import { sha256Hex } from '../lib/crypto.js'
import { nowIso } from '../lib/time.js'
import type { Database } from '../storage/schema.js'
import type { RateLimit, Tenant } from '../core/tenant.js'
import { type KeyRecord, keyStatus } from '../core/key-record.js'
import { type KeyLeakReport, keyView } from './model.js'
import { domainEvent } from '../events/outbox.js'
import type { Emit, UnitOfWork } from '../events/unit-of-work.js'
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

/** Where a key's leak reports are read from (leaks/store.ts): keys/ does not depend on leaks/. */
export interface LeakReportsOfKey {
  forKey(keyId: string): Promise<KeyLeakReport[]>
}

export class KeyService {
  constructor(
    private readonly store: KeyStore,
    private readonly plans: Record<string, PlanConfig>,
    private readonly invalidations: Invalidations,
    private readonly lastUsed: LastUsedTracker,
    /** Creating, revoking and rolling commit with their key.* event (webhooks). */
    private readonly uow: UnitOfWork,
    /** Shown by GET /v1/keys/{id} (API.md §11). */
    private readonly leakReports: LeakReportsOfKey,
  ) {}

  planOf(tenant: Tenant): PlanConfig {
    return planOf(tenant, this.plans)
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
    await this.uow.run(async (trx, emit) => {
      await this.store.insert(record, trx)
      emit(domainEvent('key.created', record, null, keyView(record)))
    })
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

  /** One key with where it was reported leaked: GET /v1/keys/{id} (the list leaves them out, one query fewer per key). */
  async getWithLeakReports(caller: SecretCaller, id: string) {
    const key = await this.find(caller, id)
    return { ...this.view(key), leakReports: await this.leakReports.forKey(key.id) }
  }

  async patch(caller: SecretCaller, id: string, input: PatchKeyInput) {
    const key = await this.find(caller, id)
    // Editing a wider key (say, cutting its rate limit to nothing) is as much an attack as revoking it.
    this.checkWithinCaller(caller, key)
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
    this.checkWithinCaller(caller, key)
    await this.revokeRecord(key)
    return this.get(caller, id)
  }

  /**
   * The one revocation path (a caller's revoke, a leak report): unless the key is revoked already,
   * its row, its key.revoked event and whatever `along` writes and emits commit together, then every
   * node forgets the key (at once here, through the broker elsewhere). The update is conditional, so
   * of two revocations racing for one key exactly one returns true and emits.
   */
  async revokeRecord(key: KeyRecord, along?: (trx: Kysely<Database>, emit: Emit, revokedAt: string) => Promise<void>): Promise<boolean> {
    const now = nowIso()
    const revoked = await this.uow.run(async (trx, emit) => {
      if (!(await this.store.revoke(key.id, now, trx))) return false
      emit(domainEvent('key.revoked', key, null, this.view({ ...key, revokedAt: now, updatedAt: now })))
      await along?.(trx, emit, now)
      return true
    })
    if (revoked) this.invalidations.publish({ type: 'key', hash: key.keyHash })
    return revoked
  }

  /**
   * A new secret with the same settings; the old one keeps working for the grace period. A key has
   * at most one predecessor in grace, so rolling a key that is itself in someone's grace ends that
   * predecessor's grace at once, and a grace needs room for one more active key in the plan.
   */
  async roll(caller: SecretCaller, id: string, graceSeconds: number) {
    const old = await this.find(caller, id)
    if (keyStatus(old) !== 'active') throw new ApiError('invalid_request', `Key ${id} is ${keyStatus(old)} and cannot be rolled`)
    this.checkWithinCaller(caller, old)
    if (old.rolledTo !== null) {
      throw new ApiError('invalid_request', `Key ${id} was rolled already and is in its grace period; roll ${old.rolledTo} instead`)
    }
    const now = nowIso()
    const predecessors = await this.store.activePredecessors(old.tenantId, old.environment, old.id, now)
    const limit = this.planOf(caller.tenant).keysPerEnvironment
    if (graceSeconds > 0 && limit !== null) {
      // During the grace both keys are active; the predecessors stop counting now.
      const during = (await this.store.countActive(old.tenantId, old.environment, now)) - predecessors.length + 1
      if (during > limit) {
        throw new ApiError(
          'plan_limit_reached',
          `The ${caller.tenant.plan} plan allows ${limit} active keys per environment, and a roll with a grace keeps both keys active; roll with expiresInSeconds 0 or revoke a key first`,
        )
      }
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
    const graceEnd = new Date(Date.parse(record.createdAt) + graceSeconds * 1000).toISOString()
    const oldExpiry = old.expiresAt !== null && old.expiresAt < graceEnd ? old.expiresAt : graceEnd
    await this.uow.run(async (trx, emit) => {
      if (!(await this.store.insertRolled(record, old.id, oldExpiry, predecessors.map((key) => key.id), trx))) {
        throw new ApiError('conflict', `Key ${id} was rolled or revoked by another request meanwhile; nothing was changed`)
      }
      emit(domainEvent('key.rolled', record, null, { ...keyView(record), previous: { id: old.id, expiresAt: oldExpiry } }))
    })
    for (const key of [old, ...predecessors]) this.invalidations.publish({ type: 'key', hash: key.keyHash })
    return { ...keyView(record), key: plaintext }
  }

  private async find(caller: SecretCaller, id: string): Promise<KeyRecord> {
    const key = await this.store.find(caller.tenant.id, caller.environment, id)
    if (!key) throw notFound('Key')
    return key
  }

  /** Acting on a secret key (edit, revoke, roll) needs its scopes, as creating it would. */
  private checkWithinCaller(caller: SecretCaller, key: KeyRecord): void {
    if (key.type === 'secret' && !isWithin(key.scopes, caller.scopes)) {
      const missing = firstMissing(key.scopes, caller.scopes)
      throw new ApiError('insufficient_scope', `Key ${key.id} has ${missing ?? 'full access'}, which the calling key lacks`)
    }
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
      // The default the request path applies to this type of key (limits/plan-rules.ts).
      const plan = defaultRateLimit(caller.tenant, input.type, this.plans)
      const { limit, windowSeconds } = input.rateLimit
      // Both: a long window with the same average (86400 per day on a 60-per-minute plan) would
      // allow a burst of the whole day's requests in one minute.
      if (limit > plan.limit || limit / windowSeconds > plan.limit / plan.windowSeconds) {
        throw new ApiError(
          'forbidden',
          `A rate limit above the plan default (${plan.limit} per ${plan.windowSeconds} s, in requests per window or per second) needs the admin key`,
        )
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
