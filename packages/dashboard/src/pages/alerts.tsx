/** Usage alert rules (GET/PUT /v1/alerts, Save alerts) and the alerts that fired (GET /v1/alerts/events). */
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import type { Api, Page, Schemas } from '../api'
import { formatTime } from '../components/format'
import { ProblemMessage } from '../components/problem'
import { Empty, Loading, Notice } from '../components/states'
import { LoadMore, Table } from '../components/table'
import { usePages } from '../components/use-pages'
import { useAction, useResource } from '../components/use-resource'

type Rules = Schemas['AlertRules']

const RULE_NAMES: Record<string, string> = { trafficSpike: 'Traffic spike', errorRate: 'Error rate', nearLimit: 'Near the rate limit' }

export function AlertRules({ api }: { api: Api }) {
  const rules = useResource(() => api.get<Rules>('/v1/alerts'), [])
  return (
    <section class="panel" aria-labelledby="alert-rules-heading">
      <h2 id="alert-rules-heading">Alert rules</h2>
      <p class="lead">When a rule fires for a key, a key.alert webhook event is sent (at most once per key and rule per hour) and the alert is listed below.</p>
      <ProblemMessage problem={rules.problem} />
      {!rules.data && rules.loading && <Loading what="alert rules" />}
      {rules.data && <RulesForm api={api} initial={rules.data} onSaved={(saved) => rules.setData(saved)} />}
    </section>
  )
}

function RulesForm({ api, initial, onSaved }: { api: Api; initial: Rules; onSaved: (rules: Rules) => void }) {
  const [spike, setSpike] = useState(Boolean(initial.trafficSpike))
  const [errors, setErrors] = useState(Boolean(initial.errorRate))
  const [limit, setLimit] = useState(Boolean(initial.nearLimit))
  const [notice, setNotice] = useState<string | null>(null)
  const action = useAction()

  async function save(event: Event) {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const number = (name: string) => Number(form.get(name))
    const body: Rules = {
      ...(spike && { trafficSpike: { factor: number('spikeFactor'), minRequests: number('spikeMin') } }),
      ...(errors && { errorRate: { percent: number('errorPercent'), minRequests: number('errorMin') } }),
      ...(limit && { nearLimit: { percent: number('limitPercent') } }),
    }
    setNotice(null)
    const saved = await action.run(() => api.send<Rules>('PUT', '/v1/alerts', body))
    if (saved) {
      onSaved(saved)
      setNotice('Alert rules saved.')
    }
  }

  return (
    <form onSubmit={save} class="rules">
      <RuleFieldset title="Traffic spike" hint="A key’s requests in the latest minute reach the minimum and this many times its average minute over the hour before." on={spike} onToggle={setSpike}>
        <NumberField id="spikeFactor" label="Spike factor" value={initial.trafficSpike?.factor ?? 5} disabled={!spike} min={1} max={1000} step="any" />
        <NumberField id="spikeMin" label="Spike minimum requests" value={initial.trafficSpike?.minRequests ?? 100} disabled={!spike} min={1} />
      </RuleFieldset>
      <RuleFieldset title="Error rate" hint="Over the last 5 minutes a key made at least the minimum requests and this percentage of them failed (4xx other than 429, and 5xx)." on={errors} onToggle={setErrors}>
        <NumberField id="errorPercent" label="Error rate percent" value={initial.errorRate?.percent ?? 10} disabled={!errors} min={0.01} max={100} step="any" />
        <NumberField id="errorMin" label="Error rate minimum requests" value={initial.errorRate?.minRequests ?? 20} disabled={!errors} min={1} />
      </RuleFieldset>
      <RuleFieldset title="Near the rate limit" hint="A key used this percentage or more of its rate-limit window." on={limit} onToggle={setLimit}>
        <NumberField id="limitPercent" label="Rate limit percent" value={initial.nearLimit?.percent ?? 80} disabled={!limit} min={0.01} max={100} step="any" />
      </RuleFieldset>
      <ProblemMessage problem={action.problem} />
      <Notice text={notice} />
      <div class="actions start">
        <button type="submit" disabled={action.busy}>
          Save alerts
        </button>
      </div>
    </form>
  )
}

/** One rule: a fieldset whose legend is the checkbox that turns it on, what it watches, and its numbers. */
function RuleFieldset({ title, hint, on, onToggle, children }: { title: string; hint: string; on: boolean; onToggle: (on: boolean) => void; children: ComponentChildren }) {
  return (
    <fieldset>
      <legend>
        <label class="checkbox">
          <input type="checkbox" checked={on} onChange={(event) => onToggle(event.currentTarget.checked)} />
          {title}
        </label>
      </legend>
      <p class="hint">{hint}</p>
      <div class="field-row">{children}</div>
    </fieldset>
  )
}

function NumberField({ id, label, value, disabled, min, max, step }: { id: string; label: string; value: number; disabled: boolean; min?: number; max?: number; step?: string }) {
  return (
    <div>
      <label for={`alert-${id}`}>{label}</label>
      <input id={`alert-${id}`} name={id} type="number" defaultValue={String(value)} disabled={disabled} min={min} max={max} step={step} required />
    </div>
  )
}

export function AlertEvents({ api, keyName }: { api: Api; keyName: (id: string) => string }) {
  const events = usePages((cursor) => api.get<Page<Schemas['AlertEvent']>>('/v1/alerts/events', { limit: 50, cursor }), [])
  const list = events.items

  return (
    <section class="panel" aria-labelledby="fired-alerts-heading">
      <h2 id="fired-alerts-heading">Fired alerts</h2>
      <ProblemMessage problem={events.first.problem ?? events.more.problem} />
      {!list && events.first.loading && <Loading what="fired alerts" />}
      {list && list.length === 0 && <Empty title="No alert has fired.">Alerts appear here when a key crosses one of the rules above.</Empty>}
      {list && list.length > 0 && (
        <Table caption="Fired alerts" head={['Time', 'Key', 'Rule', 'Details']}>
          {list.map((event) => (
            <tr key={event.id}>
              <td>{formatTime(event.createdAt)}</td>
              <td>{keyName(event.keyId)}</td>
              <td>{RULE_NAMES[event.rule] ?? event.rule}</td>
              <td>
                {Object.entries(event.details)
                  .map(([name, value]) => `${name}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
                  .join(', ')}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore cursor={events.cursor} onMore={events.loadMore} busy={events.more.busy} />
    </section>
  )
}
