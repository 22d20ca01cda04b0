/**
 * The key-encryption key (KEK) that protects session-token signing keys at rest (AES-256-GCM).
 * From PARLEY_SIGNING_KEK when set (required to be the same on every node of a cluster); otherwise
 * from `<data dir>/signing.kek`, created with mode 0600 on first start (in a 0700 directory when
 * Parley creates it); an existing file that group or others may access stops start-up. An
 * in-memory store gets an in-memory KEK: its signing keys vanish with it anyway.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { assertPrivate, createPrivateFile, ensurePrivateDir } from '../lib/private-files.js'

export class Kek {
  private constructor(private readonly key: Buffer) {}

  static load(configured: string | null, dataDir: string | null): Kek {
    if (configured) return new Kek(Buffer.from(configured, 'base64'))
    if (dataDir === null) return new Kek(randomBytes(32))
    const path = join(dataDir, 'signing.kek')
    ensurePrivateDir(dataDir)
    // If another process created it meanwhile, theirs is read below.
    createPrivateFile(path, randomBytes(32).toString('base64'))
    // A key others could read protects nothing: refuse to start rather than use it (UnsafeFileError).
    assertPrivate(path)
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')
    if (key.length !== 32) throw new Error(`${path} does not hold a base64 32-byte key`)
    return new Kek(key)
  }

  /** `v1.<iv>.<tag>.<ciphertext>` (base64url); `context` is bound as additional data. */
  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    cipher.setAAD(Buffer.from(context))
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return ['v1', iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.')
  }

  decrypt(sealed: string, context: string): string {
    const [version, iv, tag, data] = sealed.split('.')
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('unknown sealed format')
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'))
    decipher.setAAD(Buffer.from(context))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8')
  }
}
