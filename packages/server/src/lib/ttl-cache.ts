/**
 * A bounded map whose entries go stale after `ttlMs`. Insertion order doubles as age order, so
 * evicting the oldest entry when full is O(1). Stale entries are refetched by the caller: the TTL is
 * the bound on how long a change made by another node can go unseen here. Reads through `load` are
 * fenced by `delete`, so an invalidation that overtakes a read is never undone by its result.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; storedAt: number }>()
  /** Reads in flight per key (see load); `delete` marks them stale. */
  private readonly loading = new Map<K, { stale: boolean; pending: number }>()

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  /** The cached value, or undefined when absent or stale. */
  get(key: K, now = Date.now()): V | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (now - entry.storedAt >= this.ttlMs) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }

  set(key: K, value: V, now = Date.now()): void {
    this.entries.delete(key)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (!oldest.done) this.entries.delete(oldest.value)
    }
    this.entries.set(key, { value, storedAt: now })
  }

  /**
   * Reads a value from storage and caches it, unless `delete(key)` was called while the read was in
   * flight: a change that committed meanwhile (a revocation) may not be in what was read, so the
   * result answers this caller only and the next one reads storage again.
   */
  load(key: K, read: () => Promise<V>, now = Date.now()): Promise<V> {
    let load = this.loading.get(key)
    if (!load) this.loading.set(key, (load = { stale: false, pending: 0 }))
    const current = load
    current.pending++
    const settle = () => {
      if (--current.pending === 0 && this.loading.get(key) === current) this.loading.delete(key)
    }
    let reading: Promise<V>
    try {
      reading = read()
    } catch (error) {
      settle()
      throw error
    }
    return reading.then(
      (value) => {
        settle()
        if (!current.stale) this.set(key, value, now)
        return value
      },
      (error: unknown) => {
        settle()
        throw error
      },
    )
  }

  /** Forgets `key`, including what reads already in flight for it would store. */
  delete(key: K): void {
    this.entries.delete(key)
    const load = this.loading.get(key)
    if (load) {
      load.stale = true
      this.loading.delete(key)
    }
  }

  /** Forgets everything, including what reads in flight would store (see delete). */
  clear(): void {
    this.entries.clear()
    for (const load of this.loading.values()) load.stale = true
    this.loading.clear()
  }

  get size(): number {
    return this.entries.size
  }
}
