/**
 * One webhook endpoint: Send test, Rotate secret (the new secret shown once), Disable/Enable,
 * Delete, and its delivery log (one row per attempt, latest first) with Retry on a failed one.
 * The log refreshes by itself while an attempt is pending or shortly after an action.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { Page, Schemas } from '../api'
import { Dialog } from '../components/dialog'
import { DialogActions } from '../components/dialog-actions'
import { DurationSelect } from '../components/duration-select'
import { Fact } from '../components/facts'
import { formatTime } from '../components/format'
import { PageHeading } from '../components/page-heading'
import { ProblemMessage } from '../components/problem'
import { SecretDialog } from '../components/secret-dialog'
import { Empty, Loading, Notice } from '../components/states'
import { Table } from '../components/table'
import { useAction, useResource } from '../components/use-resource'
import type { PageProps } from './page'
import { type Endpoint, type EndpointWithSecret, endpointStatus } from './webhooks'

type Delivery = Schemas['WebhookDelivery']
const POLL_MS = 2000
const WATCH_AFTER_ACTION_MS = 30_000

const OVERLAPS = [
  { seconds: 86_400, label: '24 hours (recommended)' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 604_800, label: '7 days' },
  { seconds: 0, label: 'None: the old secret stops now' },
]

export function EndpointView({ api, endpointId, hrefTo, go }: PageProps & { endpointId: string }) {
  const path = `/v1/webhooks/${encodeURIComponent(endpointId)}`
  const endpoint = useResource(() => api.get<Endpoint>(path), [endpointId])
  const deliveries = useResource(() => api.get<Page<Delivery>>(`${path}/deliveries`, { limit: 50 }), [endpointId])
  const action = useAction()
  const [notice, setNotice] = useState<string | null>(null)
  const [rotating, setRotating] = useState(false)
  const [deleting, setDeleting] = useState(false)
  const [secret, setSecret] = useState<string | null>(null)
  const watchUntil = useRef(0)

  // Refresh the log while something is on its way.
  useEffect(() => {
    const pending = deliveries.data?.data.some((delivery) => delivery.status === 'pending')
    if (!pending && Date.now() > watchUntil.current) return
    const timer = setTimeout(() => void deliveries.reload(), POLL_MS)
    return () => clearTimeout(timer)
  }, [deliveries.data, deliveries.problem])

  function watch() {
    watchUntil.current = Date.now() + WATCH_AFTER_ACTION_MS
    void deliveries.reload()
  }

  async function sendTest() {
    setNotice(null)
    const answer = await action.run(() => api.send<{ eventId: string }>('POST', `${path}/test`))
    if (answer) {
      setNotice(`Test event ${answer.eventId} queued: its delivery appears in the log below.`)
      watch()
    }
  }

  async function setEnabled(enabled: boolean) {
    setNotice(null)
    const updated = await action.run(() => api.send<Endpoint>('PATCH', path, { enabled }))
    if (updated) {
      endpoint.setData(updated)
      setNotice(enabled ? 'Endpoint enabled: new events are delivered to it again.' : 'Endpoint disabled: no event is delivered to it until you enable it.')
    }
  }

  async function retry(delivery: Delivery) {
    setNotice(null)
    const answer = await action.run(() => api.send<Delivery>('POST', `${path}/deliveries/${encodeURIComponent(delivery.id)}/retry`))
    if (answer) {
      setNotice(`Event ${delivery.eventId} queued again.`)
      watch()
    }
  }

  const data = endpoint.data
  const log = deliveries.data?.data
  return (
    <section aria-labelledby="page-heading">
      <p class="back">
        <a href={hrefTo({})}>← All endpoints</a>
      </p>
      <PageHeading title="Webhook endpoint" />
      <ProblemMessage problem={endpoint.problem} />
      {!data && endpoint.loading && <Loading what="the endpoint" />}
      {data && (
        <>
          <dl class="facts">
            <Fact term="URL" clip>
              <code>{data.url}</code>
            </Fact>
            <Fact term="Events">{data.events.includes('*') ? 'all events' : data.events.join(', ')}</Fact>
            <Fact term="Status">
              <span class={`badge ${data.enabled ? 'good' : 'bad'}`}>{endpointStatus(data)}</span>
            </Fact>
            {data.description && <Fact term="Description">{data.description}</Fact>}
            <Fact term="Id">
              <code>{data.id}</code>
            </Fact>
          </dl>
          <div class="actions start wrap">
            <button type="button" onClick={sendTest} disabled={action.busy}>
              Send test
            </button>
            <button type="button" class="secondary" onClick={() => setRotating(true)}>
              Rotate secret
            </button>
            {data.enabled ? (
              <button type="button" class="secondary" onClick={() => setEnabled(false)} disabled={action.busy}>
                Disable
              </button>
            ) : (
              <button type="button" class="secondary" onClick={() => setEnabled(true)} disabled={action.busy}>
                Enable
              </button>
            )}
            <button type="button" class="danger" onClick={() => setDeleting(true)}>
              Delete
            </button>
          </div>
        </>
      )}
      <Notice text={notice} />
      <ProblemMessage problem={action.problem} />
      <div class="section-heading">
        <h2>Delivery log</h2>
        <button type="button" class="secondary" onClick={() => void deliveries.reload()}>
          Refresh log
        </button>
      </div>
      <ProblemMessage problem={deliveries.problem} />
      {!log && deliveries.loading && <Loading what="deliveries" />}
      {log && log.length === 0 && <Empty title="No delivery yet.">Press Send test to send a webhook.test event, or wait for the next event this endpoint subscribes to.</Empty>}
      {log && log.length > 0 && (
        <Table caption="Delivery log" head={['Event', 'Attempt', 'Status', 'Response status', 'Duration', 'Time', 'Error', 'Actions']}>
          {log.map((delivery) => (
            <tr key={delivery.id}>
              <td>
                {delivery.eventType}
                <span class="hint block">
                  <code>{delivery.eventId}</code>
                </span>
              </td>
              <td>{delivery.attempt}</td>
              <td>
                <span class={`badge ${delivery.status === 'succeeded' ? 'good' : delivery.status === 'failed' ? 'bad' : 'neutral'}`}>{delivery.status}</span>
              </td>
              <td>{delivery.responseStatus ?? '—'}</td>
              <td>{delivery.durationMs === null ? '—' : `${delivery.durationMs} ms`}</td>
              <td>
                {delivery.status === 'pending' && delivery.nextAttemptAt
                  ? `due ${formatTime(delivery.nextAttemptAt, '', { seconds: true })}`
                  : formatTime(delivery.attemptedAt ?? delivery.createdAt, '', { seconds: true })}
              </td>
              <td class="clip">{delivery.error ?? '—'}</td>
              <td>
                {delivery.status === 'failed' ? (
                  <button type="button" class="secondary" onClick={() => retry(delivery)} disabled={action.busy}>
                    Retry
                  </button>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      {rotating && data && (
        <RotateDialog
          onClose={() => setRotating(false)}
          rotate={(overlapSeconds) => api.send<EndpointWithSecret>('POST', `${path}/rotate-secret`, { overlapSeconds })}
          onRotated={(rotated, overlapSeconds) => {
            setRotating(false)
            setSecret(rotated.secret)
            setNotice(overlapSeconds ? 'Secret rotated: deliveries carry both signatures during the overlap.' : 'Secret rotated: the old secret no longer signs deliveries.')
          }}
        />
      )}
      {secret && <SecretDialog title="New signing secret" secrets={{ 'Signing secret': secret }} onDone={() => setSecret(null)} />}
      {deleting && data && (
        <Dialog title={`Delete ${data.url}?`} onClose={() => setDeleting(false)}>
          <p>No event will be delivered to it any more, and its delivery log is deleted. This cannot be undone.</p>
          <DialogActions
            label="Delete endpoint"
            action={action}
            onCancel={() => setDeleting(false)}
            onConfirm={async () => {
              const done = await action.run(() => api.send<null>('DELETE', path))
              if (done !== undefined) go({})
            }}
            danger
          />
        </Dialog>
      )}
    </section>
  )
}

function RotateDialog({ onClose, rotate, onRotated }: { onClose: () => void; rotate: (overlapSeconds: number) => Promise<EndpointWithSecret>; onRotated: (endpoint: EndpointWithSecret, overlapSeconds: number) => void }) {
  const [overlap, setOverlap] = useState(86_400)
  const action = useAction()
  async function submit(event: Event) {
    event.preventDefault()
    const rotated = await action.run(() => rotate(overlap))
    if (rotated) onRotated(rotated, overlap)
  }
  return (
    <Dialog title="Rotate the signing secret?" onClose={onClose}>
      <form onSubmit={submit}>
        <DurationSelect
          id="rotate-overlap"
          label="Overlap"
          hint="How long deliveries stay signed with the old secret as well, while you deploy the new one."
          options={OVERLAPS}
          value={overlap}
          onChange={setOverlap}
        />
        <DialogActions label="Rotate now" action={action} onCancel={onClose} danger />
      </form>
    </Dialog>
  )
}
