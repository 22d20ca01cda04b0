/**
 * The ES256 keys that sign session tokens. Private keys exist in the clear only in memory; storage
 * holds them sealed by the KEK. Rotation keeps the previous public key in the JWKS until every
 * token it may have signed has expired (max lifetime 24 h, plus margin for clock skew and for
 * nodes that have not yet noticed the rotation).
 */
import { type CryptoKey, type JWK, exportJWK, generateKeyPair, importJWK } from 'jose'
import type { Kysely } from 'kysely'
import { randomBase62 } from '../core/ids.js'
import type { Database } from '../storage/schema.js'
import type { Kek } from './kek.js'

export const MAX_TOKEN_LIFETIME_S = 86_400
const RETIRE_MARGIN_MS = 10 * 60_000
const RELOAD_AT_MOST_EVERY_MS = 1000

interface LoadedKey {
  kid: string
  createdAt: string
  publicJwk: JWK
  publicKey: CryptoKey
  privateKey: CryptoKey | null
  rotatedAt: string | null
  retireAfter: string | null
}

export class SigningKeyRing {
  private keys = new Map<string, LoadedKey>()
  private active: LoadedKey | null = null
  private lastReload = 0

  constructor(
    private readonly db: Kysely<Database>,
    private readonly kek: Kek,
  ) {}

  /** Loads the published keys, creating the first signing key on a new database. */
  async start(): Promise<void> {
    await this.reload()
    if (!this.active) {
      await this.create()
      await this.reload()
    }
  }

  /** The key new tokens are signed with. */
  signingKey(): { kid: string; privateKey: CryptoKey } {
    if (!this.active?.privateKey) throw new Error('signing keys not loaded')
    return { kid: this.active.kid, privateKey: this.active.privateKey }
  }

  /** The public key for a kid, reloading once (rate-limited) in case another node rotated. */
  async publicKey(kid: string, now = Date.now()): Promise<CryptoKey | null> {
    const known = this.keys.get(kid)
    if (known) return isRetired(known, now) ? null : known.publicKey
    if (now - this.lastReload < RELOAD_AT_MOST_EVERY_MS) return null
    await this.reload()
    const loaded = this.keys.get(kid)
    return loaded && !isRetired(loaded, now) ? loaded.publicKey : null
  }

  /** Synchronous lookup for the hot path; undefined means "not loaded here". */
  knownPublicKey(kid: string, now = Date.now()): CryptoKey | null | undefined {
    const known = this.keys.get(kid)
    if (!known) return undefined
    return isRetired(known, now) ? null : known.publicKey
  }

  jwks(now = Date.now()): { keys: JWK[] } {
    return {
      keys: [...this.keys.values()]
        .filter((k) => !isRetired(k, now))
        .map((k) => ({ kty: k.publicJwk.kty, crv: k.publicJwk.crv, x: k.publicJwk.x, y: k.publicJwk.y, kid: k.kid, alg: 'ES256', use: 'sig' })),
    }
  }

  /** A new signing key; the previous one stops signing and retires after the longest token life. */
  async rotate(): Promise<{ kid: string; createdAt: string }> {
    const now = new Date()
    const retireAfter = new Date(now.getTime() + MAX_TOKEN_LIFETIME_S * 1000 + RETIRE_MARGIN_MS).toISOString()
    const created = await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('signing_keys')
        .set({ rotated_at: now.toISOString(), retire_after: retireAfter })
        .where('rotated_at', 'is', null)
        .execute()
      return this.create(trx)
    })
    await this.reload()
    return created
  }

  async reload(): Promise<void> {
    this.lastReload = Date.now()
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'asc').execute()
    const keys = new Map<string, LoadedKey>()
    let active: LoadedKey | null = null
    for (const row of rows) {
      const existing = this.keys.get(row.kid)
      const publicJwk = JSON.parse(row.public_jwk) as JWK
      const loaded: LoadedKey = {
        kid: row.kid,
        createdAt: row.created_at,
        publicJwk,
        publicKey: existing?.publicKey ?? ((await importJWK(publicJwk, 'ES256')) as CryptoKey),
        privateKey: null,
        rotatedAt: row.rotated_at,
        retireAfter: row.retire_after,
      }
      if (row.rotated_at === null) {
        loaded.privateKey = existing?.privateKey ?? (await this.unseal(row.kid, row.private_jwk_encrypted))
        active = loaded // rows are oldest first: the newest unrotated key wins
      }
      keys.set(row.kid, loaded)
    }
    this.keys = keys
    this.active = active
  }

  private async unseal(kid: string, sealed: string): Promise<CryptoKey> {
    let jwk: string
    try {
      jwk = this.kek.decrypt(sealed, kid)
    } catch {
      throw new Error(
        `Cannot decrypt signing key ${kid}: every node must use the same key-encryption key (set PARLEY_SIGNING_KEK)`,
      )
    }
    return (await importJWK(JSON.parse(jwk) as JWK, 'ES256')) as CryptoKey
  }

  private async create(db: Kysely<Database> = this.db): Promise<{ kid: string; createdAt: string }> {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    const kid = `sig_${randomBase62(16)}`
    const createdAt = new Date().toISOString()
    const privateJwk = JSON.stringify(await exportJWK(privateKey))
    await db
      .insertInto('signing_keys')
      .values({
        kid,
        private_jwk_encrypted: this.kek.encrypt(privateJwk, kid),
        public_jwk: JSON.stringify(await exportJWK(publicKey)),
        created_at: createdAt,
        rotated_at: null,
        retire_after: null,
      })
      .execute()
    return { kid, createdAt }
  }
}

function isRetired(key: LoadedKey, now: number): boolean {
  return key.retireAfter !== null && Date.parse(key.retireAfter) <= now
}
