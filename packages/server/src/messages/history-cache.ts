/**
 * Serialised history pages, kept in memory and reused while their conversation is unchanged.
 *
 * Opening a conversation reads its latest page, and every member's devices do the same: the same
 * rows, read and serialised again and again. A page is stored under the conversation's *version*
 * (its creation time and history revision, which storage bumps in the transaction of every send,
 * edit and delete) and served only to a request that read the same version from storage while
 * checking access. So a node never serves a page older than storage, whichever node changed the
 * conversation, and no invalidation message is needed.
 *
 * Bounded by the total length of the pages it holds; the least recently used go first.
 */

interface Entry {
  version: string
  body: string
}

export class HistoryCache {
  private readonly pages = new Map<string, Entry>()
  private size = 0

  /** `maxChars` 0 disables the cache. */
  constructor(private readonly maxChars: number) {}

  get(key: string, version: string): string | undefined {
    const entry = this.pages.get(key)
    if (entry === undefined) return undefined
    this.pages.delete(key)
    if (entry.version !== version) {
      this.size -= entry.body.length
      return undefined
    }
    this.pages.set(key, entry) // most recently used now: Map keeps insertion order
    return entry.body
  }

  set(key: string, version: string, body: string): void {
    // A page larger than an eighth of the cache would push out many others for one reader.
    if (body.length > this.maxChars / 8) return
    const previous = this.pages.get(key)
    if (previous !== undefined) {
      this.pages.delete(key)
      this.size -= previous.body.length
    }
    this.pages.set(key, { version, body })
    this.size += body.length
    for (const [oldest, entry] of this.pages) {
      if (this.size <= this.maxChars) break
      this.pages.delete(oldest)
      this.size -= entry.body.length
    }
  }

  /** Characters held (for tests). */
  get chars(): number {
    return this.size
  }
}
