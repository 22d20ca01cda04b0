/**
 * Standard Webhooks v1 (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of 32
 * random bytes; a signature is `v1,` + base64 HMAC-SHA256, keyed with the decoded secret, over
 * `<webhook-id>.<webhook-timestamp>.<body>`, where body is exactly the bytes sent. During a secret
 * rotation the header carries one signature per secret, separated by spaces.
 */
import { createHmac, randomBytes } from 'node:crypto'

export const SECRET_PREFIX = 'whsec_'

/** A new signing secret (shown to the tenant once). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64')
}

/** The HMAC key a secret stands for: its base64 part, decoded. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64')
}

/** `v1,<base64>` for one key. */
export function sign(key: Buffer, id: string, timestamp: number, body: Buffer | string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`
}

/** The webhook-signature header: one signature per key, newest secret first. */
export function signatureHeader(keys: readonly Buffer[], id: string, timestamp: number, body: Buffer): string {
  return keys.map((key) => sign(key, id, timestamp, body)).join(' ')
}
