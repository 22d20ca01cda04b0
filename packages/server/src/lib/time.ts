/** Timestamps are stored and returned as ISO 8601 UTC strings; these keep that in one place. */
export const nowIso = (): string => new Date().toISOString()
export const isPast = (iso: string | null | undefined, now = Date.now()): boolean =>
  iso != null && Date.parse(iso) <= now

// RFC 3339 date-time. `t`/`z` in either case and a space for the `T`, as its §5.6 note allows.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/
// toISOString writes years outside 0000–9999 with a sign and six digits, which neither sorts
// with the stored timestamps nor reads back as this format.
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
const EARLIEST_MS = -62_167_219_200_000 // 0000-01-01T00:00:00.000Z

/**
 * The instant an RFC 3339 date-time names, in epoch milliseconds, or null when it names none.
 * This is both the validator of every date-time the API accepts and its parser, so what passes
 * validation always reads as one instant (Date.parse, by contrast, refuses leap seconds and
 * `+01`-style offsets that ajv-formats lets through, and V8 misreads fractions of ten digits or
 * more). A leap second (`23:59:60` in UTC) reads as the next second; digits beyond milliseconds
 * are dropped.
 */
export function parseTimestamp(text: string): number | null {
  const m = DATE_TIME.exec(text)
  if (!m) return null
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const millis = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'))
  const offsetMinutes = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]))
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null
  if (hour > 23 || minute > 59 || second > 60 || Number(m[9] ?? 0) > 23 || Number(m[10] ?? 0) > 59) return null
  const date = new Date(0)
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute - offsetMinutes, second, millis)
  const ms = date.getTime()
  if (second === 60 && !startsUtcDay(ms)) return null
  return ms >= EARLIEST_MS && ms <= LATEST_MS ? ms : null
}

const daysIn = (year: number, month: number): number =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31

const DAY_MS = 86_400_000

/** A leap second is the 61st second of 23:59 UTC, so read as the next second it starts a UTC day. */
const startsUtcDay = (ms: number): boolean => (((Math.floor(ms / 1000) * 1000) % DAY_MS) + DAY_MS) % DAY_MS === 0
