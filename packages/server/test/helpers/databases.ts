/**
 * Storage for tests. SQLite runs in memory (in a file of its own when the data must outlive one
 * open); PostgreSQL gets a fresh database per call (the server outlives test runs), dropped again
 * by the returned cleanup.
 * PARLEY_TEST_DATABASE_URL points at a PostgreSQL we may create databases on; with
 * PARLEY_TEST_REQUIRE_SERVICES=1 (set by CI) a missing service fails the run instead of skipping.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { uniqueSuffix } from './values.js'

export const postgresUrl = process.env.PARLEY_TEST_DATABASE_URL || null
export const redisUrl = process.env.PARLEY_TEST_REDIS_URL || null
export const servicesRequired = process.env.PARLEY_TEST_REQUIRE_SERVICES === '1'

if (servicesRequired && (!postgresUrl || !redisUrl)) {
  throw new Error('PARLEY_TEST_REQUIRE_SERVICES=1 but PARLEY_TEST_DATABASE_URL or PARLEY_TEST_REDIS_URL is not set')
}

export type Engine = 'sqlite' | 'postgres'

/** The engines this run covers: SQLite always, PostgreSQL when configured. */
export const ENGINES: Engine[] = postgresUrl ? ['sqlite', 'postgres'] : ['sqlite']

export interface TestDatabase {
  url: string
  drop(): Promise<void>
}

export async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === 'sqlite') return { url: 'sqlite::memory:', drop: async () => {} }
  if (!postgresUrl) throw new Error('PARLEY_TEST_DATABASE_URL is not set')
  const name = `parley_test_${uniqueSuffix()}`
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(postgresUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: postgresUrl })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await client.end()
    },
  }
}

/** A database that outlives one open: a file for SQLite, so two opens (or two nodes) see the same data. */
export async function createDurableDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === 'postgres') return createTestDatabase('postgres')
  const dir = mkdtempSync(join(tmpdir(), 'parley-store-'))
  return { url: `sqlite:${join(dir, 'parley.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) }
}
