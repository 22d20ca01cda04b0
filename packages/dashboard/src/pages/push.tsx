/**
 * Push: the provider settings of this environment (APNs, FCM, Web Push; private keys are sent,
 * never shown back) and the push delivery log. A server without push (its routes answer 404)
 * gets an explanation instead of an error.
 */
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import type { Api, Page } from '../api'
import { CopyField } from '../components/copy-field'
import { formatTime } from '../components/format'
import { PageHeading } from '../components/page-heading'
import { ProblemMessage } from '../components/problem'
import { Empty, Loading, Notice } from '../components/states'
import { LoadMore, Table } from '../components/table'
import { usePages } from '../components/use-pages'
import { useAction, useResource } from '../components/use-resource'
import type { PageProps } from './page'

type ProviderType = 'apns' | 'fcm' | 'webpush'
interface Provider {
  type: ProviderType
  configured: boolean
  updatedAt: string
  [field: string]: unknown
}
interface PushDelivery {
  id: string
  userId: string
  deviceId: string
  provider: ProviderType
  messageId: string
  status: 'pending' | 'sent' | 'failed' | 'pruned' | 'test'
  attempt: number
  responseStatus: number | null
  reason: string | null
  payload?: unknown
  createdAt: string
}

const NAMES: Record<ProviderType, string> = { apns: 'APNs (iOS)', fcm: 'FCM (Android)', webpush: 'Web Push (browsers)' }
const SHORT: Record<ProviderType, string> = { apns: 'APNs', fcm: 'FCM', webpush: 'Web Push' }

export function PushPage({ api, environment }: PageProps) {
  const providers = useResource(() => api.get<{ data: Provider[] }>('/v1/push/providers'), [])
  const unavailable = providers.problem?.status === 404
  const byType = (type: ProviderType) => providers.data?.data.find((provider) => provider.type === type)

  return (
    <section aria-labelledby="page-heading">
      <PageHeading title="Push" />
      <p class="lead">
        Parley pushes a new message to the phones and browsers of members who are not connected.{' '}
        {environment === 'test' ? 'In Test, no provider is called: each notification is logged with the payload it would have sent.' : ''}
      </p>
      {unavailable ? (
        <Empty title="Push notifications are not available on this server.">Upgrade Parley to a version with push (API.md §10), then configure a provider here.</Empty>
      ) : (
        <>
          <ProblemMessage problem={providers.problem} />
          {!providers.data && providers.loading && <Loading what="push providers" />}
          {providers.data && (
            <>
              {providers.data.data.length === 0 && <Empty title="No provider configured yet.">Fill in one of the forms below: APNs for iOS apps, FCM for Android, Web Push for browsers.</Empty>}
              <div class="providers">
                <ApnsForm api={api} current={byType('apns')} onChange={providers.reload} />
                <FcmForm api={api} current={byType('fcm')} onChange={providers.reload} />
                <WebPushForm api={api} current={byType('webpush')} onChange={providers.reload} />
              </div>
            </>
          )}
          <PushLog api={api} />
        </>
      )}
    </section>
  )
}

/** One provider's form: Save sends PUT /v1/push/providers/{type}, Remove sends DELETE. */
function ProviderForm({ api, type, current, onChange, body, children }: { api: Api; type: ProviderType; current: Provider | undefined; onChange: () => void; body: (form: FormData) => unknown; children: ComponentChildren }) {
  const action = useAction()
  const [notice, setNotice] = useState<string | null>(null)
  async function save(event: Event) {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    setNotice(null)
    let payload: unknown
    try {
      payload = body(new FormData(form))
    } catch (error) {
      await action.run(() => Promise.reject(error))
      return
    }
    const saved = await action.run(() => api.send<Provider>('PUT', `/v1/push/providers/${type}`, payload))
    if (saved) {
      // Private fields are not kept in the page once sent.
      for (const field of Array.from(form.querySelectorAll<HTMLTextAreaElement>('textarea[data-private]'))) field.value = ''
      setNotice(`${NAMES[type]} saved.`)
      onChange()
    }
  }
  async function remove() {
    setNotice(null)
    const done = await action.run(() => api.send<null>('DELETE', `/v1/push/providers/${type}`))
    if (done !== undefined) {
      setNotice(`${NAMES[type]} removed.`)
      onChange()
    }
  }
  return (
    <form class="panel provider" onSubmit={save} aria-labelledby={`provider-${type}`}>
      <h2 id={`provider-${type}`}>{NAMES[type]}</h2>
      <p class="hint">{current ? `Configured, last changed ${formatTime(current.updatedAt)}.` : 'Not configured.'}</p>
      {children}
      <ProblemMessage problem={action.problem} />
      <Notice text={notice} />
      <div class="actions start">
        <button type="submit" disabled={action.busy}>
          Save {SHORT[type]}
        </button>
        {current && (
          <button type="button" class="secondary" onClick={remove} disabled={action.busy}>
            Remove {SHORT[type]}
          </button>
        )}
      </div>
    </form>
  )
}

const text = (form: FormData, name: string) => String(form.get(name) ?? '').trim()

function ApnsForm({ api, current, onChange }: { api: Api; current: Provider | undefined; onChange: () => void }) {
  return (
    <ProviderForm
      api={api}
      type="apns"
      current={current}
      onChange={onChange}
      body={(form) => ({ teamId: text(form, 'teamId'), keyId: text(form, 'keyId'), bundleId: text(form, 'bundleId'), privateKey: text(form, 'privateKey'), production: form.get('production') === 'on' })}
    >
      <label for="apns-team">Team ID</label>
      <input id="apns-team" name="teamId" required defaultValue={String(current?.teamId ?? '')} spellcheck={false} />
      <label for="apns-key-id">Key ID</label>
      <input id="apns-key-id" name="keyId" required defaultValue={String(current?.keyId ?? '')} spellcheck={false} />
      <label for="apns-bundle">Bundle ID</label>
      <input id="apns-bundle" name="bundleId" required defaultValue={String(current?.bundleId ?? '')} spellcheck={false} />
      <label for="apns-private">Private key (.p8)</label>
      <textarea id="apns-private" name="privateKey" data-private rows={4} required spellcheck={false} aria-describedby="apns-private-hint" placeholder="-----BEGIN PRIVATE KEY-----" />
      <p id="apns-private-hint" class="hint">
        Stored encrypted; never shown again. Paste it again to change any field.
      </p>
      <label class="checkbox">
        <input type="checkbox" name="production" defaultChecked={current?.production === true} />
        Production (otherwise the APNs sandbox)
      </label>
    </ProviderForm>
  )
}

function FcmForm({ api, current, onChange }: { api: Api; current: Provider | undefined; onChange: () => void }) {
  const account = (current?.serviceAccount ?? {}) as Record<string, unknown>
  return (
    <ProviderForm
      api={api}
      type="fcm"
      current={current}
      onChange={onChange}
      body={(form) => {
        let serviceAccount: unknown
        try {
          serviceAccount = JSON.parse(text(form, 'serviceAccount'))
        } catch {
          throw new Error('The service account is not valid JSON: paste the whole file downloaded from the Firebase console.')
        }
        return { serviceAccount }
      }}
    >
      {current && (
        <p class="hint">
          Project <code>{String(account.project_id ?? '')}</code>, service account <code>{String(account.client_email ?? '')}</code>.
        </p>
      )}
      <label for="fcm-account">Service account JSON</label>
      <textarea id="fcm-account" name="serviceAccount" data-private rows={5} required spellcheck={false} aria-describedby="fcm-account-hint" placeholder='{ "project_id": "…", "client_email": "…", "private_key": "…" }' />
      <p id="fcm-account-hint" class="hint">
        The key file of a service account allowed to send messages. Its private key is stored encrypted and never shown again.
      </p>
    </ProviderForm>
  )
}

function WebPushForm({ api, current, onChange }: { api: Api; current: Provider | undefined; onChange: () => void }) {
  return (
    <ProviderForm api={api} type="webpush" current={current} onChange={onChange} body={(form) => ({ subject: text(form, 'subject') })}>
      <label for="webpush-subject">Subject</label>
      <input id="webpush-subject" name="subject" required defaultValue={String(current?.subject ?? '')} aria-describedby="webpush-subject-hint" placeholder="mailto:ops@example.com" />
      <p id="webpush-subject-hint" class="hint">
        A mailto: or https: address push services can reach you at. Parley generates the VAPID key pair.
      </p>
      {typeof current?.publicKey === 'string' && <CopyField label="VAPID public key" value={current.publicKey} hint="Give it to your web app’s pushManager.subscribe({ applicationServerKey })." />}
    </ProviderForm>
  )
}

function PushLog({ api }: { api: Api }) {
  const log = usePages((cursor) => api.get<Page<PushDelivery>>('/v1/push/deliveries', { limit: 50, cursor }), [])
  const list = log.items
  return (
    <section class="panel" aria-labelledby="push-log-heading">
      <div class="section-heading">
        <h2 id="push-log-heading">Push log</h2>
        <button type="button" class="secondary" onClick={() => void log.first.reload()}>
          Refresh log
        </button>
      </div>
      {log.first.problem?.status === 404 ? <Empty title="No push log on this server." /> : <ProblemMessage problem={log.first.problem ?? log.more.problem} />}
      {!list && log.first.loading && <Loading what="the push log" />}
      {list && list.length === 0 && <Empty title="No push sent yet.">A push is sent when a member who is not connected gets a message and has a registered device.</Empty>}
      {list && list.length > 0 && (
        <Table caption="Push log" head={['Time', 'User', 'Provider', 'Status', 'Attempt', 'Response status', 'Reason']}>
          {list.map((delivery) => (
            <tr key={delivery.id}>
              <td>{formatTime(delivery.createdAt, '', { seconds: true })}</td>
              <td>{delivery.userId}</td>
              <td>{delivery.provider}</td>
              <td>
                <span class={`badge ${delivery.status === 'sent' || delivery.status === 'test' ? 'good' : delivery.status === 'pending' ? 'neutral' : 'bad'}`}>{delivery.status}</span>
              </td>
              <td>{delivery.attempt}</td>
              <td>{delivery.responseStatus ?? '—'}</td>
              <td>
                {delivery.reason ?? '—'}
                {delivery.payload !== undefined && delivery.payload !== null && (
                  <details>
                    <summary>Payload</summary>
                    <pre>{JSON.stringify(delivery.payload, null, 2)}</pre>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <LoadMore cursor={log.cursor} onMore={log.loadMore} busy={log.more.busy} />
    </section>
  )
}
