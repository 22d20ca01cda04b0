/**
 * Usage: the Requests chart per hour (last 24 hours) or per day (last 30 days), for all keys or
 * one, the totals, the per-key totals table, the alert rules (Save alerts) and the fired alerts.
 */
import { useId, useState } from 'preact/hooks'
import type { Page, Schemas } from '../api'
import { formatNumber, formatTime, percent } from '../components/format'
import { PageHeading } from '../components/page-heading'
import { ProblemMessage } from '../components/problem'
import { Empty, Loading } from '../components/states'
import { Table } from '../components/table'
import { type Granularity, type Point, SERIES, UsageChart, bucketLabel, fillBuckets, parts } from '../components/usage-chart'
import { useResource } from '../components/use-resource'
import { AlertEvents, AlertRules } from './alerts'
import type { PageProps } from './page'

type Counts = Omit<Schemas['UsageTotals'], 'avgLatencyMs'>
interface UsageAnswer {
  granularity: Granularity
  from: string
  to: string
  series: Point[]
  totals: Schemas['UsageTotals']
  keys?: (Counts & { keyId: string })[]
  lastUsedAt?: string | null
}

const SPAN_MS: Record<Granularity, number> = { hour: 24 * 3600_000, day: 30 * 86_400_000 }

export function UsagePage({ api, route, go }: PageProps) {
  const granularity: Granularity = route.params.granularity === 'day' ? 'day' : 'hour'
  const keyId = route.params.key ?? ''
  const keys = useResource(() => api.get<Page<Schemas['Key']>>('/v1/keys', { limit: 200 }), [])
  const [refreshedAt, setRefreshedAt] = useState(() => Date.now())
  const usage = useResource(() => {
    const to = new Date()
    const query = { granularity, from: new Date(to.getTime() - SPAN_MS[granularity]).toISOString(), to: to.toISOString() }
    return api.get<UsageAnswer>(keyId ? `/v1/keys/${encodeURIComponent(keyId)}/usage` : '/v1/usage', query)
  }, [granularity, keyId, refreshedAt])
  const summaryId = useId()
  const keyName = (id: string) => {
    const key = keys.data?.data.find((candidate) => candidate.id === id)
    return key ? `${key.name} (${key.display})` : id
  }
  const set = (params: Record<string, string>) => go({ ...route.params, ...params })

  const answer = usage.data
  const buckets = answer ? fillBuckets(answer.series, answer.from, answer.to, answer.granularity) : []
  const totals = answer?.totals
  const unit = granularity === 'hour' ? 'hour' : 'day'

  return (
    <section aria-labelledby="page-heading">
      <PageHeading title="Usage" />
      <p class="lead">Every request made with this environment’s keys, by outcome. Figures include a request within about 10 seconds.</p>
      <div class="toolbar">
        <div>
          <label for="usage-period">Period</label>
          <select id="usage-period" value={granularity} onChange={(event) => set({ granularity: event.currentTarget.value })}>
            <option value="hour">Last 24 hours, per hour</option>
            <option value="day">Last 30 days, per day</option>
          </select>
        </div>
        <div>
          <label for="usage-key">Key</label>
          <select id="usage-key" value={keyId} onChange={(event) => set({ key: event.currentTarget.value })}>
            <option value="">All keys</option>
            {keys.data?.data.map((key) => (
              <option key={key.id} value={key.id}>
                {key.name} ({key.display})
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="secondary" onClick={() => setRefreshedAt(Date.now())} disabled={usage.loading}>
          Refresh
        </button>
      </div>
      <ProblemMessage problem={usage.problem} />
      {!answer && usage.loading && <Loading what="usage" />}
      {answer && totals && (
        <>
          <figure class="chart-box">
            <UsageChart buckets={buckets} granularity={granularity} summaryId={summaryId} />
            <figcaption>
              <ul class="legend">
                {SERIES.map((series) => (
                  <li key={series.field}>
                    <span class={`swatch ${series.className}`} aria-hidden="true" />
                    {series.label}
                  </li>
                ))}
              </ul>
              <p id={summaryId}>
                {totals.requests === 0
                  ? `No request in the ${granularity === 'hour' ? 'last 24 hours' : 'last 30 days'}${keyId ? ' with this key' : ''}.`
                  : `Requests per ${unit} over the ${granularity === 'hour' ? 'last 24 hours' : 'last 30 days'}: ${formatNumber(totals.requests)} in total, ${formatNumber(totals.success)} succeeded, ${formatNumber(totals.clientErrors)} client errors, ${formatNumber(totals.serverErrors)} server errors, ${formatNumber(totals.rateLimited)} rate-limited.`}
              </p>
            </figcaption>
          </figure>
          {totals.requests === 0 && (
            <Empty title="Nothing to chart yet.">Requests made with {keyId ? 'this key' : 'any key of this environment'} show here within seconds; press Refresh to see them.</Empty>
          )}
          <Totals totals={totals} lastUsedAt={answer.lastUsedAt} />
          <details class="figures">
            <summary>The figures per {unit}</summary>
            <Table caption={`Requests per ${unit}`} head={['Time', 'Requests', 'Success', 'Client errors', 'Server errors', 'Rate-limited']}>
              {buckets
                .filter((point) => point.requests > 0)
                .map((point) => (
                  <tr key={point.t}>
                    <th scope="row">{bucketLabel(point.t, granularity)}</th>
                    <td>{formatNumber(point.requests)}</td>
                    {parts(point).map((value, index) => (
                      <td key={index}>{formatNumber(value)}</td>
                    ))}
                  </tr>
                ))}
            </Table>
          </details>
          {answer.keys && (
            <>
              <h2>Per key</h2>
              {answer.keys.length === 0 ? (
                <Empty title="No key was used in this period." />
              ) : (
                <Table caption="Requests per key" head={['Key', 'Requests', 'Success', 'Client errors', 'Server errors', 'Rate-limited', 'Success rate']}>
                  {answer.keys.map((row) => (
                    <tr key={row.keyId}>
                      <th scope="row">{keyName(row.keyId)}</th>
                      <td>{formatNumber(row.requests)}</td>
                      <td>{formatNumber(row.success)}</td>
                      <td>{formatNumber(row.clientErrors)}</td>
                      <td>{formatNumber(row.serverErrors)}</td>
                      <td>{formatNumber(row.rateLimited)}</td>
                      <td>{percent(row.success, row.requests)}</td>
                    </tr>
                  ))}
                </Table>
              )}
            </>
          )}
        </>
      )}
      <AlertRules api={api} />
      <AlertEvents api={api} keyName={keyName} />
    </section>
  )
}

function Totals({ totals, lastUsedAt }: { totals: Schemas['UsageTotals']; lastUsedAt?: string | null }) {
  const figures: [string, string][] = [
    ['Requests', formatNumber(totals.requests)],
    ['Success rate', percent(totals.success, totals.requests)],
    ['Error rate', percent(totals.clientErrors + totals.serverErrors, totals.requests)],
    ['Rate-limited', formatNumber(totals.rateLimited)],
    ['Average latency', `${formatNumber(Math.round(totals.avgLatencyMs))} ms`],
  ]
  if (lastUsedAt !== undefined) figures.push(['Last used', formatTime(lastUsedAt, 'never')])
  return (
    <dl class="totals" aria-label="Totals">
      {figures.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  )
}
