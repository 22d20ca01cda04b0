/**
 * The credential format (API.md §1.1):
 *   <prefix><32 base62 random characters><6 base62 characters of CRC-32 over everything before>
 * The checksum lets us reject typos and forgeries without touching storage, and lets secret
 * scanners recognise a real key.
 */
import { BASE62, randomBase62 } from '../core/ids.js'
import type { Environment } from '../core/environment.js'
import type { KeyType } from '../core/key-record.js'
import { crc32 } from './crc32.js'

export const KEY_PREFIXES = {
  sk_live_: { type: 'secret', environment: 'live' },
  sk_test_: { type: 'secret', environment: 'test' },
  pk_live_: { type: 'publishable', environment: 'live' },
  pk_test_: { type: 'publishable', environment: 'test' },
} as const satisfies Record<string, { type: KeyType; environment: Environment }>

export type KeyPrefix = keyof typeof KEY_PREFIXES
const RANDOM_LENGTH = 32
const CHECKSUM_LENGTH = 6
const BODY_PATTERN = /^[0-9A-Za-z]{38}$/

/** Base62 of a 32-bit number, most significant digit first, left-padded to 6 characters. */
export function checksumOf(text: string): string {
  let value = crc32(Buffer.from(text, 'utf8'))
  let out = ''
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out
    value = Math.floor(value / 62)
  }
  return out
}

/** A fresh credential with the given prefix (also used for `pa_` admin keys). */
export function generateKey(prefix: string): string {
  const head = prefix + randomBase62(RANDOM_LENGTH)
  return head + checksumOf(head)
}

export function prefixFor(type: KeyType, environment: Environment): KeyPrefix {
  return `${type === 'secret' ? 'sk' : 'pk'}_${environment}_`
}

export interface ParsedKey {
  prefix: KeyPrefix
  type: KeyType
  environment: Environment
}

/** Returns the key's kind when its shape and checksum hold, else null. Never touches storage. */
export function parseKey(candidate: string): ParsedKey | null {
  if (candidate.length !== 8 + RANDOM_LENGTH + CHECKSUM_LENGTH) return null
  const prefix = candidate.slice(0, 8)
  if (!Object.hasOwn(KEY_PREFIXES, prefix)) return null
  const body = candidate.slice(8)
  if (!BODY_PATTERN.test(body)) return null
  const head = candidate.slice(0, 8 + RANDOM_LENGTH)
  if (checksumOf(head) !== candidate.slice(8 + RANDOM_LENGTH)) return null
  return { prefix: prefix as KeyPrefix, ...KEY_PREFIXES[prefix as KeyPrefix] }
}

/** Does this look like one of our API keys (right prefix), whatever its checksum? */
export function hasKeyPrefix(candidate: string): boolean {
  return /^(sk|pk)_(live|test)_/.test(candidate)
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Is this shaped like a JWT (or starts like a base64url JSON header)? It is judged as a session token. */
export function looksLikeSessionToken(candidate: string): boolean {
  return JWT_SHAPE.test(candidate) || candidate.startsWith('eyJ')
}

/** The key's public face: prefix, first 4 and last 4 characters of the body, joined by "…". */
export function displayOf(key: string): string {
  const body = key.slice(8)
  return `${key.slice(0, 8)}${body.slice(0, 4)}\u2026${body.slice(-4)}`
}
