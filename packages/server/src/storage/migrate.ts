/** Applies the migrations in order; run at start and by `parley migrate`. */
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely'
import type { Dialect, Store } from './database.js'
import * as foundation from './migrations/001-foundation.js'
import * as users from './migrations/002-users-and-signing-keys.js'
import * as chat from './migrations/003-chat.js'
import * as usage from './migrations/004-usage-and-alerts.js'
import * as historyRevision from './migrations/005-history-revision.js'
import * as membersByUser from './migrations/006-members-by-user-covering.js'
import * as messageIndexes from './migrations/007-message-indexes-that-append.js'
import * as eventContent from './migrations/008-event-content-and-consumers.js'
import * as webhooks from './migrations/009-webhooks-and-deliveries.js'
import * as leakReports from './migrations/010-leak-reports.js'
import * as push from './migrations/011-push.js'
import * as dashboardSessions from './migrations/012-dashboard-sessions.js'

type Step = { up(db: Kysely<unknown>, dialect: Dialect): Promise<void> }

/** Explicit, ordered registration: no directory scanning, works the same from src/ and dist/. */
const STEPS: Record<string, Step> = {
  '001-foundation': foundation,
  '002-users-and-signing-keys': users,
  '003-chat': chat,
  '004-usage-and-alerts': usage,
  '005-history-revision': historyRevision,
  '006-members-by-user-covering': membersByUser,
  '007-message-indexes-that-append': messageIndexes,
  '008-event-content-and-consumers': eventContent,
  '009-webhooks-and-deliveries': webhooks,
  '010-leak-reports': leakReports,
  '011-push': push,
  '012-dashboard-sessions': dashboardSessions,
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {}
    for (const [name, step] of Object.entries(STEPS)) out[name] = { up: (db) => step.up(db, this.dialect) }
    return out
  }
}

/** Returns the names of the migrations applied by this call. */
export async function migrate(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: new StaticProvider(store.dialect) })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error instanceof Error ? error : new Error(String(error))
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
