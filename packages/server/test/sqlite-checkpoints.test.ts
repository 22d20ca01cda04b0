/**
 * SQLite settings of storage/database.ts. WAL checkpoints run in a worker thread
 * (storage/checkpointer.ts): pages committed on the main connection reach the database file
 * without the main connection checkpointing, and stopping Parley stops the worker and leaves a
 * consistent file behind. The page cache has the configured size.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { BACKSTOP_PAGES } from '../src/storage/checkpointer.js'
import { startParley } from './helpers/parley.js'
import { sleep, waitFor } from './helpers/wait.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('SQLite checkpoints in the background', () => {
  it('copies committed pages into the database file while the main connection only appends to the WAL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-wal-'))
    dirs.push(dir)
    const file = join(dir, 'parley.db')
    const t = await startParley({ databaseUrl: `sqlite:${file}` })
    try {
      await sleep(300) // let the worker catch up with the migrations
      const before = statSync(file).size
      // About 2,000 pages: far below the main connection's own checkpoint mark.
      const pages = 2000
      expect(pages).toBeLessThan(BACKSTOP_PAGES / 2)
      const rows = Array.from({ length: pages }, (_, i) => ({
        id: `evt_${i}`,
        tenant_id: 'ten_x',
        environment: 'live' as const,
        type: 'message.created',
        conversation_id: null,
        data: 'x'.repeat(4000),
        created_at: new Date().toISOString(),
      }))
      for (let i = 0; i < rows.length; i += 100) await t.parley.store.db.insertInto('events').values(rows.slice(i, i + 100)).execute()
      await waitFor(() => statSync(file).size >= before + pages * 4000, 3000, 'the checkpointed pages in the database file')
    } finally {
      await t.close()
    }
    // Closed cleanly: the file opens and holds every row.
    const db = new SQLite(file, { readonly: true })
    expect(db.prepare("select count(*) as n from events where tenant_id = 'ten_x'").get()).toEqual({ n: 2000 })
    db.close()
  })

  it('sizes the page cache from PARLEY_SQLITE_CACHE_MB (64 MiB by default)', async () => {
    for (const [env, kib] of [[{}, 64 * 1024], [{ PARLEY_SQLITE_CACHE_MB: '16' }, 16 * 1024]] as const) {
      const t = await startParley({ engine: 'sqlite', env })
      try {
        const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(t.parley.store.db)
        expect(rows[0]!.cache_size).toBe(-kib) // negative: KiB rather than pages
      } finally {
        await t.close()
      }
    }
  })
})
