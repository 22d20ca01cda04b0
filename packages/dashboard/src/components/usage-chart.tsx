/**
 * The Requests chart: one stacked bar per hour or day, success, client errors, server errors and
 * rate-limited apart. Hand-written SVG (about 2 KB) rather than a charting library: a role="img"
 * with a name and a text summary is what assistive technology needs, the figures are also one
 * click away as a table, and the colours come from the stylesheet (no inline styles under the CSP).
 */
import type { Schemas } from '../api'
import { formatNumber } from './format'

export type Point = Schemas['UsagePoint']
export type Granularity = 'hour' | 'day'

export const SERIES = [
  { field: 'success', label: 'Success', className: 'success' },
  { field: 'clientErrors', label: 'Client errors (4xx)', className: 'client' },
  { field: 'serverErrors', label: 'Server errors (5xx)', className: 'server' },
  { field: 'rateLimited', label: 'Rate-limited (429)', className: 'limited' },
] as const

const STEP_MS: Record<Granularity, number> = { hour: 3600_000, day: 86_400_000 }
// A small view box, so the axis labels stay readable when the chart is scaled down to a phone's width.
const WIDTH = 480
const HEIGHT = 220
const LEFT = 40
const BOTTOM = 22
const TOP = 8

/** Every bucket of the window, with zeros where the API returned none (its series is sparse). */
export function fillBuckets(series: Point[], from: string, to: string, granularity: Granularity): Point[] {
  const byTime = new Map(series.map((point) => [Date.parse(point.t), point]))
  const buckets: Point[] = []
  const end = Date.parse(to)
  for (let t = Date.parse(from); t < end && buckets.length < 1000; t += STEP_MS[granularity]) {
    buckets.push(byTime.get(t) ?? { t: new Date(t).toISOString(), requests: 0, success: 0, clientErrors: 0, serverErrors: 0, rateLimited: 0, avgLatencyMs: 0 })
  }
  return buckets
}

export function bucketLabel(iso: string, granularity: Granularity): string {
  const date = new Date(iso)
  return granularity === 'hour'
    ? date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
}

/** A round axis maximum at or above the largest bar. */
function niceMax(value: number): number {
  if (value <= 4) return 4
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}

/** The four kinds of outcome; success is what is left when the others are taken out (never negative). */
export function parts(point: Point): number[] {
  return [point.success, point.clientErrors, point.serverErrors, point.rateLimited].map((value) => Math.max(0, value))
}

export function UsageChart({ buckets, granularity, summaryId }: { buckets: Point[]; granularity: Granularity; summaryId: string }) {
  const max = niceMax(Math.max(0, ...buckets.map((point) => parts(point).reduce((a, b) => a + b, 0))))
  const plotWidth = WIDTH - LEFT - 4
  const plotHeight = HEIGHT - TOP - BOTTOM
  const slot = plotWidth / Math.max(1, buckets.length)
  const barWidth = Math.max(1, slot * 0.7)
  const y = (value: number) => TOP + plotHeight - (value / max) * plotHeight
  const ticks = [0, max / 2, max]
  const labelled = buckets.length ? [0, Math.floor(buckets.length / 2), buckets.length - 1] : []

  return (
    <svg class="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Requests" aria-describedby={summaryId}>
      {ticks.map((tick) => (
        <g key={tick}>
          <line class="grid" x1={LEFT} x2={WIDTH - 4} y1={y(tick)} y2={y(tick)} />
          <text class="axis" x={LEFT - 6} y={y(tick) + 4} text-anchor="end">
            {formatNumber(tick)}
          </text>
        </g>
      ))}
      {buckets.map((point, index) => {
        let base = 0
        const x = LEFT + index * slot + (slot - barWidth) / 2
        return (
          <g key={point.t}>
            {parts(point).map((value, part) => {
              if (!value) return null
              const rect = <rect class={`bar ${SERIES[part]!.className}`} x={x} width={barWidth} y={y(base + value)} height={y(base) - y(base + value)} />
              base += value
              return rect
            })}
          </g>
        )
      })}
      {labelled.map((index) => (
        <text key={index} class="axis" x={LEFT + index * slot + slot / 2} y={HEIGHT - 6} text-anchor={index === 0 ? 'start' : index === buckets.length - 1 ? 'end' : 'middle'}>
          {bucketLabel(buckets[index]!.t, granularity)}
        </text>
      ))}
    </svg>
  )
}
