/**
 * Secrets shown once in a dialog (a new key, a signing secret, a new tenant's two keys): the
 * warning that they will not be shown again, a read-only textbox with Copy for each, and Done.
 */
import type { ComponentChildren } from 'preact'
import { CopyField } from './copy-field'
import { Dialog } from './dialog'

const SHOWN_ONCE = 'Copy it now and keep it somewhere safe: you will not see it again.'

/** `secrets` maps each textbox's label to its value, in order; `actions` stand before Done. */
export function SecretDialog({ title, intro, secrets, onDone, actions, children }: { title: string; intro?: string; secrets: Record<string, string>; onDone: () => void; actions?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <Dialog title={title} onClose={onDone}>
      <p class="warning">{intro ? `${intro} ${SHOWN_ONCE}` : SHOWN_ONCE}</p>
      {Object.entries(secrets).map(([label, value]) => (
        <CopyField key={label} label={label} value={value} />
      ))}
      {children}
      <div class="actions">
        {actions}
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
    </Dialog>
  )
}
