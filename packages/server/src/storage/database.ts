/**
 * Opens storage for the configured engine. This is the only place that knows about drivers:
 * better-sqlite3 (embedded default) or pg (loaded only when PostgreSQL is configured).
 */
import { dirname } from 'node:path'
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import { createPrivateFile, ensurePrivateDir, makePrivate } from '../lib/private-files.js'
import { loadOptionalPackage } from '../lib/optional-package.js'
import { BACKSTOP_PAGES, type Checkpointer, startCheckpointer } from './checkpointer.js'
import type { Database } from './schema.js'

/** Where the data lives: an embedded SQLite file (or :memory:) or a PostgreSQL server. */
export type Storage = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string }

export type Dialect = 'sqlite' | 'postgres'

export interface Store {
  db: Kysely<Database>
  dialect: Dialect
  /** Resolves when storage answers a trivial query. */
  ping(): Promise<void>
  close(): Promise<void>
}

export interface StoreOptions {
  /** SQLite's page cache in MiB (default 64). */
  sqliteCacheMb?: number
  /**
   * For a SQLite file: run WAL checkpoints in a worker thread (storage/checkpointer.ts), reporting
   * its errors here. Off for one-shot commands such as `parley migrate`.
   */
  backgroundCheckpoints?: { onError(error: unknown): void }
}

export async function openStore(storage: Storage, options: StoreOptions = {}): Promise<Store> {
  let checkpointer: Checkpointer | null = null
  let db: Kysely<Database>
  if (storage.kind === 'sqlite') {
    db = await openSqlite(storage.path, options.sqliteCacheMb ?? 64)
    if (storage.path !== ':memory:' && options.backgroundCheckpoints) {
      checkpointer = startCheckpointer(storage.path, options.backgroundCheckpoints.onError)
    }
  } else {
    db = await openPostgres(storage.url)
  }
  return {
    db,
    dialect: storage.kind,
    ping: async () => {
      await sql`select 1`.execute(db)
    },
    close: async () => {
      await checkpointer?.stop()
      await db.destroy()
    },
  }
}

async function openSqlite(path: string, cacheMb: number): Promise<Kysely<Database>> {
  const { default: SQLite } = await import('better-sqlite3')
  if (path !== ':memory:') {
    ensurePrivateDir(dirname(path))
    // SQLite would create the file 0644 (less the umask); made empty here, it keeps our 0600.
    createPrivateFile(path)
  }
  const database = new SQLite(path)
  // WAL lets readers proceed during a write; NORMAL sync is durable across process crashes.
  database.pragma('journal_mode = WAL')
  // SQLite gives the -wal and -shm files the database file's mode; files from an older Parley
  // (created 0644) are narrowed here, so every start leaves all three private.
  if (path !== ':memory:') for (const suffix of ['', '-wal', '-shm']) makePrivate(path + suffix)
  database.pragma('synchronous = NORMAL')
  database.pragma('busy_timeout = 5000')
  database.pragma('foreign_keys = ON')
  // SQLite's default page cache is 2 MiB. Sends to many conversations touch a leaf page per
  // conversation in each index: past the cache, every insert reads its pages back from the OS
  // (a 10,000-socket fan-out ran at 55 % of its speed with the default).
  database.pragma(`cache_size = -${cacheMb * 1024}`)
  // The worker checkpoints long before this; it bounds the WAL if the worker cannot.
  database.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`)
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) })
}

const MAX_CACHED_STATEMENTS = 1000

/**
 * Kysely prepares every query anew; compiling the SQL cost more than running it on our hot paths.
 * Statements are reusable in better-sqlite3 (Kysely runs each to completion synchronously), so
 * the same SQL text gets the same prepared statement.
 */
function withStatementCache(database: import('better-sqlite3').Database) {
  const statements = new Map<string, import('better-sqlite3').Statement>()
  return {
    close: () => database.close(),
    prepare: (sql: string) => {
      let statement = statements.get(sql)
      if (!statement) {
        // Queries with variable-length IN lists make distinct SQL; start over rather than grow.
        if (statements.size >= MAX_CACHED_STATEMENTS) statements.clear()
        statement = database.prepare(sql)
        statements.set(sql, statement)
      }
      return statement
    },
  }
}

async function openPostgres(url: string): Promise<Kysely<Database>> {
  const { default: pg } = await loadOptionalPackage<typeof import('pg')>('pg', 'A postgres:// PARLEY_DATABASE_URL')
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  // A client in use that loses its connection fails its query (503) *and* emits 'error', which
  // pg-pool does not listen for while the client is checked out: unheard, it would crash the process.
  pool.on('connect', (client) => client.on('error', () => {}))
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}

/** True for errors that mean "storage is unreachable" rather than "the query was wrong". */
export function isStorageUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  if (typeof code === 'string') {
    return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P03', '53300', 'SQLITE_BUSY', 'SQLITE_IOERR'].includes(
      code,
    )
  }
  // pg reports a connection lost under a query with no code, only this message.
  return error instanceof Error && error.message.startsWith('Connection terminated')
}

/** True for a unique-constraint violation on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
