/** The dialogs of the API keys page: Create key, Revoke (confirmed by Revoke key), Roll (a grace period, then Roll key). */
import { SCOPES } from '@parley/protocol/scopes'
import { useState } from 'preact/hooks'
import type { Api, Schemas } from '../api'
import { Dialog } from '../components/dialog'
import { DialogActions } from '../components/dialog-actions'
import { DurationSelect } from '../components/duration-select'
import { useAction } from '../components/use-resource'

type Key = Schemas['Key']
type KeyWithSecret = Schemas['KeyWithSecret']

export function CreateKeyDialog({ api, onClose, onCreated }: { api: Api; onClose: () => void; onCreated: (key: KeyWithSecret) => void }) {
  const action = useAction()
  const [type, setType] = useState<'secret' | 'publishable'>('secret')

  async function submit(event: Event) {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const expires = String(form.get('expires') ?? '')
    const origins = String(form.get('origins') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean)
    const rate = String(form.get('rate') ?? '').trim()
    const body = {
      name: String(form.get('name')).trim(),
      type,
      scopes: form.getAll('scopes').map(String),
      ...(expires && { expiresAt: new Date(expires).toISOString() }),
      ...(type === 'publishable' && origins.length > 0 && { allowedOrigins: origins }),
      ...(rate && { rateLimit: { limit: Number(rate), windowSeconds: 60 } }),
    }
    const created = await action.run(() => api.send<KeyWithSecret>('POST', '/v1/keys', body))
    if (created) onCreated(created)
  }

  return (
    <Dialog title="Create key" onClose={onClose} wide>
      <form onSubmit={submit}>
        <label for="key-name">Name</label>
        <input id="key-name" name="name" required maxLength={200} aria-describedby="key-name-hint" />
        <p id="key-name-hint" class="hint">
          Where it is used, e.g. “billing backend”.
        </p>
        <label for="key-type">Type</label>
        <select id="key-type" name="type" value={type} onChange={(event) => setType(event.currentTarget.value as 'secret' | 'publishable')}>
          <option value="secret">Secret (backend)</option>
          <option value="publishable">Publishable (front end, visitors)</option>
        </select>
        <fieldset class="scopes" aria-describedby="scopes-hint">
          <legend>Scopes</legend>
          <p id="scopes-hint" class="hint">
            Leave all unchecked for full access. A key can only be given scopes its creator has.
          </p>
          <div class="checkbox-grid">
            {SCOPES.map((scope) => (
              <label key={scope} class="checkbox">
                <input type="checkbox" name="scopes" value={scope} />
                {scope}
              </label>
            ))}
          </div>
        </fieldset>
        <label for="key-expires">Expires</label>
        <input id="key-expires" name="expires" type="datetime-local" aria-describedby="key-expires-hint" />
        <p id="key-expires-hint" class="hint">
          Optional, in your local time. Empty: never expires.
        </p>
        <label for="key-origins">Allowed origins</label>
        <textarea id="key-origins" name="origins" rows={2} disabled={type !== 'publishable'} aria-describedby="key-origins-hint" placeholder="https://app.example.com" />
        <p id="key-origins-hint" class="hint">
          Publishable keys only: the origins (scheme, host and port) allowed to use it, one per line. Empty: any origin.
        </p>
        <label for="key-rate">Rate limit</label>
        <input id="key-rate" name="rate" type="number" min={1} max={1000000} inputMode="numeric" aria-describedby="key-rate-hint" />
        <p id="key-rate-hint" class="hint">
          Requests per minute. Empty: the plan’s default.
        </p>
        <DialogActions label="Create" action={action} onCancel={onClose} />
      </form>
    </Dialog>
  )
}

export function RevokeKeyDialog({ api, target, onClose, onRevoked }: { api: Api; target: Key; onClose: () => void; onRevoked: (key: Key) => void }) {
  const action = useAction()
  async function revoke() {
    const key = await action.run(() => api.send<Key>('POST', `/v1/keys/${encodeURIComponent(target.id)}/revoke`))
    if (key) onRevoked(key)
  }
  return (
    <Dialog title={`Revoke ${target.name}?`} onClose={onClose}>
      <p>
        Every request with <code>{target.display}</code> will fail with 401 at once, on every node. This cannot be undone.
      </p>
      <DialogActions label="Revoke key" action={action} onCancel={onClose} onConfirm={revoke} danger />
    </Dialog>
  )
}

const GRACE_PERIODS = [
  { seconds: 0, label: 'None: the old key stops working now' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours' },
  { seconds: 604_800, label: '7 days' },
]

export function RollKeyDialog({ api, target, onClose, onRolled }: { api: Api; target: Key; onClose: () => void; onRolled: (key: KeyWithSecret, graceSeconds: number) => void }) {
  const action = useAction()
  const [grace, setGrace] = useState(86_400)
  async function roll(event: Event) {
    event.preventDefault()
    const key = await action.run(() => api.send<KeyWithSecret>('POST', `/v1/keys/${encodeURIComponent(target.id)}/roll`, { expiresInSeconds: grace }))
    if (key) onRolled(key, grace)
  }
  return (
    <Dialog title={`Roll ${target.name}?`} onClose={onClose}>
      <form onSubmit={roll}>
        <p>
          A new secret replaces <code>{target.display}</code>, with the same name, type, scopes and limits.
        </p>
        <DurationSelect id="roll-grace" label="Grace period" hint="How long the old key keeps working, so you can deploy the new one first." options={GRACE_PERIODS} value={grace} onChange={setGrace} />
        <DialogActions label="Roll key" action={action} onCancel={onClose} danger />
      </form>
    </Dialog>
  )
}
