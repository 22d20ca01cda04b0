/** Webhooks: the endpoints table and Add endpoint (its signing secret shown once); an opened endpoint is in webhook-endpoint.tsx. */
import { useState } from 'preact/hooks'
import type { Api, Page, Schemas } from '../api'
import { Dialog } from '../components/dialog'
import { DialogActions } from '../components/dialog-actions'
import { formatTime } from '../components/format'
import { PageHeading } from '../components/page-heading'
import { ProblemMessage } from '../components/problem'
import { SecretDialog } from '../components/secret-dialog'
import { Empty, Loading, Notice } from '../components/states'
import { LoadMore, Table } from '../components/table'
import { usePages } from '../components/use-pages'
import { useAction, useResource } from '../components/use-resource'
import type { PageProps } from './page'
import { EndpointView } from './webhook-endpoint'

export type Endpoint = Schemas['WebhookEndpoint']
export type EndpointWithSecret = Schemas['WebhookEndpointWithSecret']

export function WebhooksPage(props: PageProps) {
  return props.route.params.endpoint ? <EndpointView {...props} endpointId={props.route.params.endpoint} /> : <EndpointList {...props} />
}

export function endpointStatus(endpoint: Endpoint): string {
  if (endpoint.enabled) return 'enabled'
  if (endpoint.disabledReason === 'gone') return 'disabled (the receiver answered 410)'
  if (endpoint.disabledReason === 'failing') return 'disabled (failing for 5 days)'
  return 'disabled'
}

function EndpointList({ api, hrefTo, go }: PageProps) {
  const endpoints = usePages((cursor) => api.get<Page<Endpoint>>('/v1/webhooks', { limit: 100, cursor }), [])
  const [adding, setAdding] = useState(false)
  const [created, setCreated] = useState<EndpointWithSecret | null>(null)
  const list = endpoints.items

  return (
    <section aria-labelledby="page-heading">
      <PageHeading title="Webhooks">
        <button type="button" onClick={() => setAdding(true)}>
          Add endpoint
        </button>
      </PageHeading>
      <p class="lead">Parley POSTs events to these URLs, signed with Standard Webhooks. Open an endpoint to test it, rotate its secret or read its delivery log.</p>
      <Notice text={created ? `Endpoint ${created.url} added.` : null} />
      <ProblemMessage problem={endpoints.first.problem ?? endpoints.more.problem} />
      {!list && endpoints.first.loading && <Loading what="endpoints" />}
      {list && list.length === 0 && <Empty title="No endpoint yet.">Add one with Add endpoint: give the URL of your receiver and the events it wants.</Empty>}
      {list && list.length > 0 && (
        <Table caption="Webhook endpoints" head={['URL', 'Events', 'Status', 'Created']}>
          {list.map((endpoint) => (
            <tr key={endpoint.id}>
              <td class="clip">
                <a href={hrefTo({ endpoint: endpoint.id })}>{endpoint.url}</a>
                {endpoint.description && <span class="hint block">{endpoint.description}</span>}
              </td>
              <td>{endpoint.events.includes('*') ? 'all events' : endpoint.events.join(', ')}</td>
              <td>
                <span class={`badge ${endpoint.enabled ? 'good' : 'bad'}`}>{endpointStatus(endpoint)}</span>
              </td>
              <td>{formatTime(endpoint.createdAt)}</td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore cursor={endpoints.cursor} onMore={endpoints.loadMore} busy={endpoints.more.busy} />
      {adding && (
        <AddEndpointDialog
          api={api}
          onClose={() => setAdding(false)}
          onAdded={(endpoint) => {
            setAdding(false)
            setCreated(endpoint)
            void endpoints.first.reload()
          }}
        />
      )}
      {created && (
        <SecretDialog title="Endpoint added" secrets={{ 'Signing secret': created.secret }} onDone={() => setCreated(null)}>
          <p class="hint">Your receiver verifies each delivery’s webhook-signature header with it (see docs/webhooks.md).</p>
          <div class="actions start">
            <button type="button" class="secondary" onClick={() => go({ endpoint: created.id })}>
              Open endpoint
            </button>
          </div>
        </SecretDialog>
      )}
    </section>
  )
}

function AddEndpointDialog({ api, onClose, onAdded }: { api: Api; onClose: () => void; onAdded: (endpoint: EndpointWithSecret) => void }) {
  const types = useResource(() => api.get<Schemas['WebhookEventTypeList']>('/v1/webhooks/event-types'), [])
  const [all, setAll] = useState(false)
  const action = useAction()

  async function submit(event: Event) {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const events = all ? ['*'] : form.getAll('events').map(String)
    const description = String(form.get('description') ?? '').trim()
    const body = { url: String(form.get('url')).trim(), events, ...(description && { description }) }
    const endpoint = await action.run(() => api.send<EndpointWithSecret>('POST', '/v1/webhooks', body))
    if (endpoint) onAdded(endpoint)
  }

  return (
    <Dialog title="Add endpoint" onClose={onClose} wide>
      <form onSubmit={submit}>
        <label for="endpoint-url">URL</label>
        <input id="endpoint-url" name="url" type="url" required maxLength={2048} placeholder="https://api.example.com/parley/webhooks" spellcheck={false} />
        <fieldset class="events" aria-describedby="endpoint-events-hint">
          <legend>Events</legend>
          <p id="endpoint-events-hint" class="hint">
            Pick at least one, or every event.
          </p>
          <label class="checkbox">
            <input type="checkbox" checked={all} onChange={(event) => setAll(event.currentTarget.checked)} />
            All events
          </label>
          <ProblemMessage problem={types.problem} />
          {!types.data && types.loading && <Loading what="event types" />}
          <div class="checkbox-grid">
            {types.data?.data.map((type) => (
              <label key={type.type} class="checkbox" title={type.description}>
                <input type="checkbox" name="events" value={type.type} disabled={all} />
                {type.type}
              </label>
            ))}
          </div>
        </fieldset>
        <label for="endpoint-description">Description</label>
        <input id="endpoint-description" name="description" maxLength={500} aria-describedby="endpoint-description-hint" />
        <p id="endpoint-description-hint" class="hint">
          Optional: what receives them.
        </p>
        <DialogActions label="Add" action={action} onCancel={onClose} />
      </form>
    </Dialog>
  )
}
