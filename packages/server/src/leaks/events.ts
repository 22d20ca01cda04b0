/** The domain event of leaked-key reports (API.md §7, §11), with its data. */
import type { Environment } from '../core/environment.js'

declare module '../events/envelope.js' {
  interface EventDataByType {
    /** A key was reported found in public and revoked for it (its key.revoked comes with it). */
    'key.leaked': { keyId: string; environment: Environment; url: string; source: string }
  }
}

export {}
