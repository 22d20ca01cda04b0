/**
 * API keys of the tenant and environment shown: the table, Create key (the new key shown once),
 * and per key Revoke and Roll, each confirmed in a dialog.
 */
import { useState } from 'preact/hooks'
import type { Page, Schemas } from '../api'
import { formatTime } from '../components/format'
import { PageHeading } from '../components/page-heading'
import { ProblemMessage } from '../components/problem'
import { SecretDialog } from '../components/secret-dialog'
import { Empty, Loading, Notice } from '../components/states'
import { Table } from '../components/table'
import { useResource } from '../components/use-resource'
import { CreateKeyDialog, RevokeKeyDialog, RollKeyDialog } from './key-dialogs'
import type { PageProps } from './page'

type Key = Schemas['Key']

export function KeysPage({ api, environment }: PageProps) {
  const keys = useResource(() => api.get<Page<Key>>('/v1/keys', { limit: 200 }), [])
  const [creating, setCreating] = useState(false)
  const [revoking, setRevoking] = useState<Key | null>(null)
  const [rolling, setRolling] = useState<Key | null>(null)
  const [secret, setSecret] = useState<Schemas['KeyWithSecret'] | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const list = keys.data?.data

  return (
    <section aria-labelledby="page-heading">
      <PageHeading title="API keys">
        <button type="button" onClick={() => setCreating(true)}>
          Create key
        </button>
      </PageHeading>
      <p class="lead">
        Secret keys are for your backend; publishable keys for your front end (visitor sign-in only). These are the {environment === 'live' ? 'Live' : 'Test'} keys.
      </p>
      <Notice text={notice} />
      <ProblemMessage problem={keys.problem} />
      {!list && keys.loading && <Loading what="keys" />}
      {list && list.length === 0 && <Empty title={`No ${environment} key yet.`}>Create one with Create key, then copy it into your backend’s configuration.</Empty>}
      {list && list.length > 0 && (
        <Table caption="API keys" head={['Name', 'Key', 'Type', 'Scopes', 'Status', 'Created', 'Last used', 'Expires', 'Actions']}>
          {list.map((key) => (
            <tr key={key.id}>
              <th scope="row">{key.name}</th>
              <td>
                <code>{key.display}</code>
              </td>
              <td>{key.type}</td>
              <td>{key.scopes.length ? key.scopes.join(', ') : 'all (unscoped)'}</td>
              <td>
                <span class={`badge ${key.status === 'active' ? 'good' : 'bad'}`}>{key.status}</span>
              </td>
              <td>{formatTime(key.createdAt)}</td>
              <td>{formatTime(key.lastUsedAt, 'never')}</td>
              <td>{formatTime(key.expiresAt, 'never')}</td>
              <td class="row-actions">
                {key.status === 'active' ? (
                  <>
                    <button type="button" class="secondary" onClick={() => setRolling(key)}>
                      Roll
                    </button>
                    <button type="button" class="danger" onClick={() => setRevoking(key)}>
                      Revoke
                    </button>
                  </>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      {creating && (
        <CreateKeyDialog
          api={api}
          onClose={() => setCreating(false)}
          onCreated={(created) => {
            setCreating(false)
            setSecret(created)
            setNotice(`Key ${created.name} created.`)
            void keys.reload()
          }}
        />
      )}
      {revoking && (
        <RevokeKeyDialog
          api={api}
          target={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={(key) => {
            setRevoking(null)
            setNotice(`Key ${key.name} revoked: requests with it now fail with 401.`)
            // The row's Revoke button, where focus went back, is gone once the list is reloaded.
            void keys.reload().then(() => {
              if (document.activeElement === document.body) document.getElementById('page-heading')?.focus()
            })
          }}
        />
      )}
      {rolling && (
        <RollKeyDialog
          api={api}
          target={rolling}
          onClose={() => setRolling(null)}
          onRolled={(created, graceSeconds) => {
            setRolling(null)
            setSecret(created)
            setNotice(graceSeconds ? `Key ${created.name} rolled: the old key keeps working until ${formatTime(new Date(Date.now() + graceSeconds * 1000).toISOString())}.` : `Key ${created.name} rolled: the old key no longer works.`)
            void keys.reload()
          }}
        />
      )}
      {secret && (
        <SecretDialog title={`New key: ${secret.name}`} secrets={{ 'New key': secret.key }} onDone={() => setSecret(null)}>
          <p class="hint">
            {secret.type === 'secret' ? 'Use it from your backend only, in the x-api-key header.' : 'Use it in your front end to sign visitors in.'} Its public face is{' '}
            <code>{secret.display}</code>.
          </p>
        </SecretDialog>
      )}
    </section>
  )
}
