/**
 * VAPID (RFC 8292): how a push service knows requests come from the server a subscription was
 * made for. The key pair is an ECDSA P-256 pair Parley generates per tenant and environment; its
 * public key is what browsers subscribe with (`applicationServerKey`).
 *
 * Both keys are base64url without padding, as browsers and the web-push tools show them:
 * the public key is the 65-byte uncompressed point (0x04 ‖ x ‖ y), the private key the 32-byte
 * scalar d.
 */
import { createECDH, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import { invalidParam } from '../core/errors.js'
import type { MaybePromise } from '../lib/maybe-promise.js'

export interface VapidKeys {
  publicKey: string
  privateKey: string
}

/** A new VAPID key pair (base64url public point and private scalar). */
export function generateVapidKeys(): VapidKeys {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const jwk = privateKey.export({ format: 'jwk' })
  const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])
  return { publicKey: point.toString('base64url'), privateKey: jwk.d! }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/

/** The signing key of a VAPID pair; throws ApiError validation_failed when the two do not make a pair. */
export function vapidSigningKey(publicKey: string, privateKey: string): KeyObject {
  const point = BASE64URL.test(publicKey) ? Buffer.from(publicKey, 'base64url') : Buffer.alloc(0)
  if (point.length !== 65 || point[0] !== 0x04) throw invalidParam('publicKey', 'must be a base64url uncompressed P-256 public key (65 bytes)')
  const d = BASE64URL.test(privateKey) ? Buffer.from(privateKey, 'base64url') : Buffer.alloc(0)
  if (d.length !== 32) throw invalidParam('privateKey', 'must be a base64url P-256 private key (32 bytes)')
  let key: KeyObject
  try {
    key = createPrivateKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url'), d: d.toString('base64url') },
      format: 'jwk',
    })
  } catch {
    throw invalidParam('privateKey', 'is not a P-256 private key')
  }
  // Node accepts a JWK whose x, y do not belong to d: compare with the point d gives.
  const derived = createECDH('prime256v1')
  derived.setPrivateKey(d)
  if (!derived.getPublicKey().equals(point)) throw invalidParam('privateKey', 'does not belong to publicKey')
  return key
}

/** How long a VAPID token is valid (RFC 8292: at most 24 hours). */
export const VAPID_TOKEN_LIFETIME_MS = 12 * 3600_000
/** A token is reused while it has more than this left. */
const REUSE_WHILE_MS = 6 * 3600_000
/** Push services are few (one per browser vendor); a cap keeps odd endpoints from growing the cache. */
const MAX_AUDIENCES = 256

/** `Authorization: vapid t=…, k=…` headers, one token per push service origin, reused for hours. */
export class VapidAuthorizations {
  private readonly byAudience = new Map<string, { header: string; expiresAt: number }>()

  constructor(
    private readonly key: KeyObject,
    private readonly publicKey: string,
    private readonly subject: string,
    private readonly now: () => number,
  ) {}

  header(endpoint: URL): MaybePromise<string> {
    const audience = endpoint.origin
    const now = this.now()
    const cached = this.byAudience.get(audience)
    if (cached && cached.expiresAt - now > REUSE_WHILE_MS && cached.expiresAt - now <= VAPID_TOKEN_LIFETIME_MS) return cached.header
    return this.sign(audience, now)
  }

  private async sign(audience: string, now: number): Promise<string> {
    const expiresAt = now + VAPID_TOKEN_LIFETIME_MS
    const token = await new SignJWT({ aud: audience, sub: this.subject })
      .setProtectedHeader({ typ: 'JWT', alg: 'ES256' })
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(this.key)
    const header = `vapid t=${token}, k=${this.publicKey}`
    if (this.byAudience.size >= MAX_AUDIENCES) this.byAudience.clear()
    this.byAudience.set(audience, { header, expiresAt })
    return header
  }
}
