/**
 * Reading the private keys tenants give us, and checking the settings around them, with errors
 * that say what is wrong and never repeat the key (node's own parse errors are not passed on).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto'
import { invalidParam } from '../core/errors.js'

type Fields = Record<string, unknown>

/** `value` as an object, or a validation error naming `param`. */
export function objectAt(value: unknown, param: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidParam(param, 'must be an object')
  return value as Fields
}

/** A non-empty string matching `pattern`, or a validation error saying `expected`. */
export function stringAt(fields: Fields, name: string, param: string, pattern: RegExp, expected: string): string {
  const value = fields[name]
  if (typeof value !== 'string' || value === '') throw invalidParam(param, `is required (${expected})`)
  if (!pattern.test(value)) throw invalidParam(param, `must be ${expected}`)
  return value
}

const PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----/

/**
 * The PEM private key in `pem`, of the kind asked for. `what` says where the tenant finds the
 * right one (e.g. "the .p8 file's text").
 */
export function privateKeyAt(pem: unknown, param: string, kind: 'p256' | 'rsa', what: string): KeyObject {
  if (typeof pem !== 'string' || pem.trim() === '') throw invalidParam(param, `is required (${what})`)
  if (!PEM.test(pem)) throw invalidParam(param, `must be ${what}: a PEM block from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----`)
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch {
    throw invalidParam(param, `does not parse as a PEM private key (${what}); paste the whole file, line breaks included`)
  }
  if (kind === 'p256' && (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')) {
    throw invalidParam(param, `must be an EC P-256 private key (${what}); this is another kind of key`)
  }
  if (kind === 'rsa' && (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)) {
    throw invalidParam(param, `must be an RSA private key of at least 2048 bits (${what}); this is another kind of key`)
  }
  return key
}
