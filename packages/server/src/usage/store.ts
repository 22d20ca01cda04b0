/** Usage rows: batched upserts that add to existing buckets, series and totals, retention. */
import type { Kysely } from 'kysely'
import type { Environment } from '../core/environment.js'
import type { Database } from '../storage/schema.js'
import { type Counters, type Granularity, add, emptyCounters } from './counters.js'

export const TABLES = { minute: 'usage_minutes', hour: 'usage_hours', day: 'usage_days' } as const

export interface UsageRow {
  keyId: string
  tenantId: string
  environment: Environment
  bucket: string
  counters: Counters
}

export interface SeriesPoint extends Counters {
  t: string
}

export class UsageStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Adds every row to its bucket in one transaction (insert, or add on conflict). */
  async add(rows: ReadonlyMap<Granularity, UsageRow[]>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const [granularity, list] of rows) {
        const table = TABLES[granularity]
        for (const row of list) {
          const c = row.counters
          await trx
            .insertInto(table)
            .values({
              key_id: row.keyId,
              bucket: row.bucket,
              tenant_id: row.tenantId,
              environment: row.environment,
              requests: c.requests,
              success: c.success,
              client_errors: c.clientErrors,
              server_errors: c.serverErrors,
              rate_limited: c.rateLimited,
              latency_ms: c.latencyMs,
            })
            .onConflict((oc) =>
              oc.columns(['key_id', 'bucket']).doUpdateSet((eb) => ({
                requests: eb(`${table}.requests`, '+', eb.ref('excluded.requests')),
                success: eb(`${table}.success`, '+', eb.ref('excluded.success')),
                client_errors: eb(`${table}.client_errors`, '+', eb.ref('excluded.client_errors')),
                server_errors: eb(`${table}.server_errors`, '+', eb.ref('excluded.server_errors')),
                rate_limited: eb(`${table}.rate_limited`, '+', eb.ref('excluded.rate_limited')),
                latency_ms: eb(`${table}.latency_ms`, '+', eb.ref('excluded.latency_ms')),
              })),
            )
            .execute()
        }
      }
    })
  }

  /** Summed counters per bucket (and per key), for one key or a whole tenant environment. */
  async series(
    granularity: Granularity,
    filter: { tenantId: string; environment: Environment; keyId?: string },
    from: string,
    to: string,
  ): Promise<{ points: SeriesPoint[]; perKey: Map<string, Counters> }> {
    let query = this.db
      .selectFrom(TABLES[granularity])
      .select((eb) => [
        'bucket',
        'key_id',
        eb.fn.sum<number>('requests').as('requests'),
        eb.fn.sum<number>('success').as('success'),
        eb.fn.sum<number>('client_errors').as('client_errors'),
        eb.fn.sum<number>('server_errors').as('server_errors'),
        eb.fn.sum<number>('rate_limited').as('rate_limited'),
        eb.fn.sum<number>('latency_ms').as('latency_ms'),
      ])
      .where('tenant_id', '=', filter.tenantId)
      .where('environment', '=', filter.environment)
      .where('bucket', '>=', from)
      .where('bucket', '<', to)
    if (filter.keyId !== undefined) query = query.where('key_id', '=', filter.keyId)
    const rows = await query.groupBy(['bucket', 'key_id']).orderBy('bucket').execute()
    const points = new Map<string, SeriesPoint>()
    const perKey = new Map<string, Counters>()
    for (const row of rows) {
      const counters: Counters = {
        requests: Number(row.requests),
        success: Number(row.success),
        clientErrors: Number(row.client_errors),
        serverErrors: Number(row.server_errors),
        rateLimited: Number(row.rate_limited),
        latencyMs: Number(row.latency_ms),
      }
      const point = points.get(row.bucket) ?? { t: row.bucket, ...emptyCounters() }
      const key = perKey.get(row.key_id) ?? emptyCounters()
      add(point, counters)
      add(key, counters)
      points.set(row.bucket, point)
      perKey.set(row.key_id, key)
    }
    return { points: [...points.values()], perKey }
  }

  /** Drops buckets older than their retention (minutes 48 h, hours 90 days by default). */
  async prune(granularity: Granularity, before: string): Promise<void> {
    await this.db.deleteFrom(TABLES[granularity]).where('bucket', '<', before).execute()
  }
}
