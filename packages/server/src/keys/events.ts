/** The domain events of API keys (API.md §7), with their data: the key's public face, never its secret. */
import type { keyView } from './model.js'

/** A key as events carry it (no plaintext, no hash). */
export type KeyView = ReturnType<typeof keyView>

declare module '../events/envelope.js' {
  interface EventDataByType {
    'key.created': KeyView
    /** The key after revocation (`status: "revoked"`). */
    'key.revoked': KeyView
    /** The new key, and the key it replaces with the end of its grace period. */
    'key.rolled': KeyView & { previous: { id: string; expiresAt: string } }
  }
}
