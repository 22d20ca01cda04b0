/** Operator actions on tenants (API.md §2). */
import type { Kysely } from 'kysely'
import type { Environment } from '../core/environment.js'
import type { Invalidations } from '../cluster/invalidations.js'
import { invalidParam, notFound } from '../core/errors.js'
import { newId } from '../core/ids.js'
import { decodeCursor, pageOf } from '../lib/cursor.js'
import { nowIso } from '../lib/time.js'
import type { KeyService } from '../keys/service.js'
import { keyView } from '../keys/model.js'
import type { Database } from '../storage/schema.js'
import type { RateLimit, Tenant } from '../core/tenant.js'
import { tenantView } from './model.js'
import type { TenantStore } from './store.js'

export interface TenantPatch {
  name?: string
  plan?: string
  rateLimit?: RateLimit | null
  suspended?: boolean
}

export class TenantService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly store: TenantStore,
    private readonly keys: KeyService,
    private readonly planNames: string[],
    private readonly invalidations: Invalidations,
  ) {}

  /** A tenant and one unscoped secret key per environment, all or nothing. */
  async create(input: { name: string; plan?: string }) {
    const plan = input.plan ?? 'free'
    this.checkPlan(plan)
    const now = nowIso()
    const tenant: Tenant = {
      id: newId('tenant'),
      name: input.name,
      plan,
      rateLimit: null,
      suspended: false,
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
    }
    const minted = (['live', 'test'] as Environment[]).map((env) =>
      this.keys.mint(tenant.id, env, { name: `Default ${env} secret key`, type: 'secret' }),
    )
    await this.db.transaction().execute(async (trx) => {
      await this.store.insert(tenant, trx)
      for (const { record } of minted) await this.keys.insert(record, trx)
    })
    const [live, test] = minted.map(({ record, plaintext }) => ({ ...keyView(record), key: plaintext }))
    return { tenant: tenantView(tenant), keys: { live: live!, test: test! } }
  }

  async list(limit: number, cursor: string | undefined) {
    const after = decodeCursor(cursor, 2) as [string, string] | null
    const rows = await this.store.list(limit + 1, after)
    const page = pageOf(rows, limit, (t) => [t.createdAt, t.id])
    return { data: page.data.map(tenantView), nextCursor: page.nextCursor }
  }

  async get(id: string) {
    return tenantView(await this.find(id))
  }

  async patch(id: string, patch: TenantPatch) {
    await this.find(id)
    if (patch.plan !== undefined) this.checkPlan(patch.plan)
    await this.store.update(id, patch, nowIso())
    this.invalidations.publish({ type: 'tenant', tenantId: id })
    return this.get(id)
  }

  /** Soft delete: its keys then fail as unknown keys and its tokens as revoked. */
  async delete(id: string): Promise<void> {
    await this.find(id)
    const now = nowIso()
    await this.store.update(id, { deletedAt: now }, now)
    this.invalidations.publish({ type: 'tenant', tenantId: id })
  }

  private async find(id: string): Promise<Tenant> {
    const tenant = await this.store.find(id)
    if (!tenant || tenant.deletedAt !== null) throw notFound('Tenant')
    return tenant
  }

  private checkPlan(plan: string): void {
    if (!this.planNames.includes(plan)) throw invalidParam('plan', `must be one of ${this.planNames.join(', ')}`)
  }
}
