/**
 * The public keys leak reports are signed with (API.md §11), in the JSON GitHub publishes:
 *
 *   { "public_keys": [{ "key_identifier": "…", "key": "-----BEGIN PUBLIC KEY-----…", "is_current": true }] }
 *
 * given inline (PARLEY_LEAK_REPORT_KEYS) or published at a URL (PARLEY_LEAK_REPORT_KEYS_URL).
 * Published keys are fetched on first use and cached. A report naming a key the cache lacks
 * fetches them again, unless such a refetch happened in the last minute: made-up identifiers cost
 * the code host at most one request a minute. A list older than an hour is refreshed the same way
 * (and within the same once-a-minute budget), so a key the code host withdrew stops being trusted. Every listed key is trusted, `is_current` or not: a
 * retired key stays listed while reports it signed may still arrive.
 *
 * When the keys cannot be fetched, a report is answered 503 (the code host retries) rather than
 * accepted unchecked; a cached key still verifies while a refresh fails.
 */
import { type KeyObject, createPublicKey } from 'node:crypto'
import { ApiError } from '../core/errors.js'

export interface ReporterKeys {
  /** The key named `identifier`, or null when none is listed under it. Throws 503 when the listed keys cannot be had. */
  keyFor(identifier: string): Promise<KeyObject | null>
}

export interface ParsedReporterKeys {
  keys: Map<string, KeyObject>
  /** Entries left out, each with why ("public_keys[1]: not an ECDSA P-256 key"). */
  skipped: string[]
}

/** Reads the published JSON; throws an Error saying what is wrong with its shape. */
export function parseReporterKeys(text: string): ParsedReporterKeys {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error('is not JSON')
  }
  const list = (parsed as { public_keys?: unknown } | null)?.public_keys
  if (!Array.isArray(list)) throw new Error('needs a "public_keys" array of { key_identifier, key }')
  const keys = new Map<string, KeyObject>()
  const skipped: string[] = []
  list.forEach((entry: { key_identifier?: unknown; key?: unknown } | null, i) => {
    const id = entry?.key_identifier
    if (typeof id !== 'string' || id.length === 0 || typeof entry?.key !== 'string') {
      skipped.push(`public_keys[${i}]: needs a key_identifier and a key (PEM)`)
      return
    }
    const key = p256Key(entry.key)
    if (key === null) skipped.push(`public_keys[${i}]: key is not an ECDSA P-256 public key in PEM`)
    else keys.set(id, key)
  })
  return { keys, skipped }
}

function p256Key(pem: string): KeyObject | null {
  try {
    const key = createPublicKey(pem)
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? key : null
  } catch {
    return null
  }
}

/** Keys given in the configuration: never fetched. */
export class InlineReporterKeys implements ReporterKeys {
  constructor(private readonly keys: ReadonlyMap<string, KeyObject>) {}

  async keyFor(identifier: string): Promise<KeyObject | null> {
    return this.keys.get(identifier) ?? null
  }
}

export const REFETCH_INTERVAL_MS = 60_000
export const MAX_AGE_MS = 3600_000
const FETCH_TIMEOUT_MS = 10_000
/** A key list is a few KiB; anything far larger is not one. */
const MAX_BYTES = 1024 * 1024

export interface PublishedKeysOptions {
  /** Time in ms (tests move it). */
  now?: () => number
  userAgent: string
  /** A fetch failed or listed entries that were left out (logged; the keys never are, they are public anyway). */
  onProblem?: (problem: string) => void
}

/** Keys published at a URL, fetched and cached as described above. */
export class PublishedReporterKeys implements ReporterKeys {
  private keys: Map<string, KeyObject> | null = null
  private loadedAt = 0
  /** When the last refetch (for an unknown identifier or an old list) started, whatever its outcome. */
  private refetchedAt: number | null = null
  private inflight: Promise<boolean> | null = null
  private readonly now: () => number

  constructor(
    private readonly url: string,
    private readonly options: PublishedKeysOptions,
  ) {
    this.now = options.now ?? Date.now
  }

  async keyFor(identifier: string): Promise<KeyObject | null> {
    if (this.keys === null) {
      // Nothing cached: every report tries (concurrent ones share the attempt), so service resumes
      // with the first report after the keys URL comes back.
      if (!(await this.refresh())) throw unavailable()
    } else if (this.refetchDue() && (!this.keys.has(identifier) || this.now() - this.loadedAt >= MAX_AGE_MS)) {
      this.refetchedAt = this.now()
      // An unknown identifier may be a key published since: without the fresh list we cannot tell.
      if (!(await this.refresh()) && !this.keys.has(identifier)) throw unavailable()
    }
    return this.keys?.get(identifier) ?? null
  }

  private refetchDue(): boolean {
    return this.refetchedAt === null || this.now() - this.refetchedAt >= REFETCH_INTERVAL_MS
  }

  /** Fetches the list (one fetch at a time); true when it now holds a fresh one. */
  private refresh(): Promise<boolean> {
    this.inflight ??= this.fetchKeys()
      .then(
        () => true,
        (error: unknown) => {
          this.options.onProblem?.(`fetching ${this.url} failed: ${error instanceof Error ? error.message : String(error)}`)
          return false
        },
      )
      .finally(() => {
        this.inflight = null
      })
    return this.inflight
  }

  private async fetchKeys(): Promise<void> {
    const response = await fetch(this.url, {
      headers: { accept: 'application/json', 'user-agent': this.options.userAgent },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    })
    if (!response.ok) throw new Error(`it answered ${response.status}`)
    const text = await response.text()
    if (text.length > MAX_BYTES) throw new Error('the answer is larger than 1 MiB')
    const { keys, skipped } = parseReporterKeys(text)
    if (skipped.length > 0) this.options.onProblem?.(`${this.url} lists entries Parley cannot use: ${skipped.join('; ')}`)
    if (keys.size === 0) throw new Error('it lists no ECDSA P-256 key')
    this.keys = keys
    this.loadedAt = this.now()
  }
}

const unavailable = () => new ApiError('unavailable', 'The public keys leak reports are verified with could not be fetched; retry shortly')

/** The keys the configuration names: published at `url`, given `inline` (JSON checked by config.ts), or none (null). */
export function reporterKeysFrom(
  settings: { url: string | null; inline: string | null },
  options: PublishedKeysOptions,
): ReporterKeys | null {
  if (settings.url !== null) return new PublishedReporterKeys(settings.url, options)
  if (settings.inline !== null) return new InlineReporterKeys(parseReporterKeys(settings.inline).keys)
  return null
}
