/**
 * The signature of a leak report, as GitHub signs secret scanning partner reports: the header
 * Github-Public-Key-Signature holds base64 of a DER ECDSA P-256 SHA-256 signature over the raw
 * body, made with the key named by Github-Public-Key-Identifier.
 */
import { type KeyObject, verify } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { ApiError } from '../core/errors.js'
import type { ReporterKeys } from './reporter-keys.js'

export const KEY_IDENTIFIER_HEADER = 'github-public-key-identifier'
export const SIGNATURE_HEADER = 'github-public-key-signature'

/** Resolves when `body` carries a valid signature; else throws 401 invalid_signature (or 503 from the keys). */
export async function checkSignature(body: Buffer, headers: IncomingHttpHeaders, keys: ReporterKeys): Promise<void> {
  const identifier = single(headers[KEY_IDENTIFIER_HEADER])
  const signature = single(headers[SIGNATURE_HEADER])
  if (identifier === undefined || signature === undefined) {
    throw invalidSignature('A leak report needs the headers Github-Public-Key-Identifier and Github-Public-Key-Signature')
  }
  const key = await keys.keyFor(identifier)
  if (key === null) throw invalidSignature('Github-Public-Key-Identifier names no key this server trusts')
  if (!verifies(body, key, signature)) throw invalidSignature('Github-Public-Key-Signature does not verify over the request body')
}

function verifies(body: Buffer, key: KeyObject, signature: string): boolean {
  try {
    return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'))
  } catch {
    // A signature that is not DER at all.
    return false
  }
}

/** One value, or undefined when absent, empty or repeated (a repeated header signs nothing). */
function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function invalidSignature(detail: string): ApiError {
  // Every 401 carries the challenge (API.md §0.2).
  return new ApiError('invalid_signature', detail, { headers: { 'www-authenticate': 'Bearer realm="parley"' } })
}
