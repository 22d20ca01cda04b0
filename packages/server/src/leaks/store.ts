/** Where keys were found in public (API.md §11): one row per key and place, never the key itself. */
import type { Kysely } from 'kysely'
import type { KeyLeakReport } from '../keys/model.js'
import type { LeakReportsOfKey } from '../keys/service.js'
import { sha256Hex } from '../lib/crypto.js'
import type { Database } from '../storage/schema.js'

export interface LeakReportRecord extends KeyLeakReport {
  keyId: string
}

export class LeakReportStore implements LeakReportsOfKey {
  constructor(private readonly db: Kysely<Database>) {}

  /** Keeps a report unless the key was reported at that place (URL and source) before; true when new. */
  async record(report: LeakReportRecord, db: Kysely<Database> = this.db): Promise<boolean> {
    const result = await db
      .insertInto('leak_reports')
      .values({
        key_id: report.keyId,
        place: sha256Hex(JSON.stringify([report.url, report.source])),
        url: report.url,
        source: report.source,
        reported_at: report.reportedAt,
      })
      .onConflict((oc) => oc.columns(['key_id', 'place']).doNothing())
      .executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
  }

  /** A key's reports, oldest first. */
  async forKey(keyId: string): Promise<KeyLeakReport[]> {
    const rows = await this.db
      .selectFrom('leak_reports')
      .select(['url', 'source', 'reported_at'])
      .where('key_id', '=', keyId)
      .orderBy('reported_at')
      .orderBy('place')
      .execute()
    return rows.map((row) => ({ url: row.url, source: row.source, reportedAt: row.reported_at }))
  }
}
