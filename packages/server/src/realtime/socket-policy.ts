/**
 * Who may hold a socket (API.md §6, §9): an end user or visitor with a session token, or a secret
 * key with events:read (every event of its tenant and environment). The credential itself is
 * checked by auth/credentials.ts, exactly as for HTTP; this is the socket's route policy.
 */
import type { Authenticated } from '../auth/credentials.js'
import { hasScope, insufficientScope } from '../auth/scopes.js'
import type { SecretCaller, SessionCaller } from '../core/caller.js'
import { ApiError } from '../core/errors.js'

export type SocketCaller = SessionCaller | SecretCaller

/** The caller as a socket holder, or a 403 (which closes an authenticated socket with 4500). */
export function socketCaller(caller: Authenticated): SocketCaller {
  switch (caller.kind) {
    case 'session':
      return caller
    case 'secret':
      if (!hasScope(caller.scopes, 'events:read')) throw insufficientScope('events:read')
      return caller
    case 'publishable':
      throw new ApiError('key_type_not_allowed', 'Publishable keys cannot open realtime sockets')
    case 'admin':
      throw new ApiError('key_type_not_allowed', 'The admin key cannot open realtime sockets; use a secret key with events:read')
  }
}
