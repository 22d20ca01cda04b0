/**
 * One suite, every storage engine (ARCHITECTURE.md practice 2): `describeEachEngine` runs its body
 * once per engine this run covers (SQLite always, PostgreSQL when PARLEY_TEST_DATABASE_URL is set),
 * and hands it `openStore`, which opens a migrated store on a database of its own. Everything it
 * opened is closed and dropped when the engine's describe block ends.
 *
 *   describeEachEngine('UserStore', (engine, openStore) => {
 *     let store: Store
 *     beforeAll(async () => (store = await openStore()))
 *     it('…', async () => { … new UserStore(store.db) … })
 *   })
 */
import { afterAll, describe } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { type Store, openStore as openStorage } from '../../src/storage/database.js'
import { migrate } from '../../src/storage/migrate.js'
import { ENGINES, type Engine, type TestDatabase, createTestDatabase } from './databases.js'

/** A migrated store on a fresh database; closed and dropped after the engine's block. */
export type OpenStore = () => Promise<Store>

/** The storage settings Parley reads from PARLEY_DATABASE_URL. */
export const storageOf = (url: string) => loadConfig({ PARLEY_DATABASE_URL: url }).storage

export function describeEachEngine(name: string, body: (engine: Engine, openStore: OpenStore) => void): void {
  for (const engine of ENGINES) {
    describe(`${name} on ${engine}`, () => {
      const opened: { store: Store; database: TestDatabase }[] = []
      afterAll(async () => {
        for (const { store, database } of opened.reverse()) {
          await store.close()
          await database.drop()
        }
      })
      body(engine, async () => {
        const database = await createTestDatabase(engine)
        const store = await openStorage(storageOf(database.url))
        opened.push({ store, database })
        await migrate(store)
        return store
      })
    })
  }
}
