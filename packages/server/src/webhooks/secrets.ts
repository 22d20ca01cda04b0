/**
 * Signing secrets at rest: sealed by the KEK that protects session-token signing keys (AES-256-GCM,
 * bound to the endpoint's id), so a copy of the database alone cannot sign webhooks. The HMAC keys
 * they open to are cached in memory, keyed by the sealed text, so a rotation needs no invalidation.
 */
import type { Kek } from '../auth/kek.js'
import type { Endpoint } from './model.js'
import { secretKey } from './signing.js'

const MAX_CACHED = 10_000

export class SecretBox {
  private readonly keys = new Map<string, Buffer>()

  constructor(private readonly kek: Kek) {}

  seal(endpointId: string, secret: string): string {
    return this.kek.encrypt(secret, context(endpointId))
  }

  /** The HMAC keys an endpoint signs with at `now`: its secret's, then the previous one's during an overlap. */
  signingKeys(endpoint: Endpoint, now: number): Buffer[] {
    const keys = [this.key(endpoint.id, endpoint.secret)]
    if (endpoint.previousSecret && endpoint.previousSecretUntil && Date.parse(endpoint.previousSecretUntil) > now) {
      keys.push(this.key(endpoint.id, endpoint.previousSecret))
    }
    return keys
  }

  private key(endpointId: string, sealed: string): Buffer {
    let key = this.keys.get(sealed)
    if (!key) {
      if (this.keys.size >= MAX_CACHED) this.keys.clear()
      key = secretKey(this.kek.decrypt(sealed, context(endpointId)))
      this.keys.set(sealed, key)
    }
    return key
  }
}

const context = (endpointId: string) => `webhook-secret:${endpointId}`
