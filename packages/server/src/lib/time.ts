/** Timestamps are stored and returned as ISO 8601 UTC strings; these keep that in one place. */
export const nowIso = (): string => new Date().toISOString()
export const isPast = (iso: string | null | undefined, now = Date.now()): boolean =>
  iso != null && Date.parse(iso) <= now
