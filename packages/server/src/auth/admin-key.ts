/**
 * The operator's admin key. Either given as PARLEY_ADMIN_KEY (any string of 32+ characters,
 * accepted as given) or generated on first start as `pa_…`, printed once and stored only hashed.
 */
import type { Kysely } from 'kysely'
import { digestsEqual, sha256Hex } from '../lib/crypto.js'
import type { Database } from '../storage/schema.js'
import { generateKey } from './key-format.js'

const META_KEY = 'admin_key_sha256'

export interface AdminKeySetup {
  hash: string
  /** Set only on the start that generated the key: the one time it is ever shown. */
  generated: string | null
}

export async function setUpAdminKey(db: Kysely<Database>, configured: string | null): Promise<AdminKeySetup> {
  if (configured !== null) return { hash: sha256Hex(configured), generated: null }
  const row = await db.selectFrom('meta').select('value').where('key', '=', META_KEY).executeTakeFirst()
  if (row) return { hash: row.value, generated: null }
  const generated = generateKey('pa_')
  const hash = sha256Hex(generated)
  // Two nodes starting together on a new database: the first insert wins, the other reads it.
  const inserted = await db
    .insertInto('meta')
    .values({ key: META_KEY, value: hash })
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst()
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { hash, generated }
  return setUpAdminKey(db, configured)
}

export function isAdminKey(candidateHash: string, adminHash: string): boolean {
  return digestsEqual(candidateHash, adminHash)
}
