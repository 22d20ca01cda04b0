/**
 * Who is on a socket. The same credentials as REST: a session token (an end user or visitor), or
 * a secret key with events:read (every event of its tenant and environment).
 */
import type { KeyVerifier } from '../auth/api-keys.js'
import type { SecretCaller, SessionCaller } from '../auth/caller.js'
import { hasKeyPrefix } from '../auth/key-format.js'
import { hasScope } from '../auth/scopes.js'
import type { SessionTokens } from '../auth/session-tokens.js'
import { ApiError } from '../errors.js'

export type SocketCaller = SessionCaller | SecretCaller

export class SocketAuthenticator {
  constructor(
    private readonly tokens: SessionTokens,
    private readonly keys: KeyVerifier,
  ) {}

  /** The caller, or an ApiError (401 for bad credentials, 403 for not allowed). */
  async authenticate(credential: string): Promise<SocketCaller> {
    let caller: SocketCaller
    if (hasKeyPrefix(credential)) {
      const { key, tenant } = await this.keys.verify(credential)
      if (key.type !== 'secret') throw new ApiError('key_type_not_allowed', 'Publishable keys cannot open realtime sockets')
      if (!hasScope(key.scopes, 'events:read')) {
        throw new ApiError('insufficient_scope', 'Missing scope events:read')
      }
      caller = { kind: 'secret', tenant, environment: key.environment, key, scopes: key.scopes, isAdmin: false }
    } else {
      caller = await this.tokens.verify(credential)
    }
    if (caller.tenant.suspended) throw new ApiError('forbidden', 'This tenant is suspended')
    return caller
  }
}
