/** How dates and numbers read on every page. */
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const precise = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
const number = new Intl.NumberFormat()

export function formatTime(iso: string | null | undefined, fallback = '—', options: { seconds?: boolean } = {}): string {
  if (!iso) return fallback
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : (options.seconds ? precise : dateTime).format(date)
}

export function formatNumber(value: number): string {
  return number.format(value)
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '—' : `${(Math.round((part / whole) * 1000) / 10).toFixed(1)} %`
}
