/**
 * lastUsedAt without a write per request: uses are noted in memory and written in one batch per
 * flush interval, at most once a minute per key. A crash loses at most one interval of lastUsedAt.
 */
import type { KeyStore } from './store.js'

const PERSIST_EVERY_MS = 60_000

export class LastUsedTracker {
  /** key id → the latest use seen in memory (epoch ms; formatted only when read). */
  private readonly latest = new Map<string, number>()
  /** key id → when we last wrote it (epoch ms). */
  private readonly persistedAt = new Map<string, number>()
  private readonly pending = new Map<string, string>()

  constructor(private readonly store: KeyStore) {}

  note(keyId: string, now = Date.now()): void {
    this.latest.set(keyId, now)
    const last = this.persistedAt.get(keyId)
    if (last === undefined || now - last >= PERSIST_EVERY_MS) {
      this.pending.set(keyId, new Date(now).toISOString())
      this.persistedAt.set(keyId, now)
    }
  }

  /** The freshest lastUsedAt known to this node, falling back to what storage says. */
  lastUsed(keyId: string, stored: string | null): string | null {
    const seen = this.latest.get(keyId)
    if (seen === undefined) return stored
    const iso = new Date(seen).toISOString()
    return stored === null || iso > stored ? iso : stored
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = new Map(this.pending)
    this.pending.clear()
    await this.store.touchLastUsed(batch)
  }
}
