/**
 * The foot of a dialog that does one thing: what went wrong with it (if anything), Cancel, and the
 * button that does it (disabled while it runs). Without `onConfirm` that button submits the dialog's form.
 */
import type { Problem } from '../api'
import { ProblemMessage } from './problem'

export function DialogActions({ label, action, onCancel, onConfirm, danger }: { label: string; action: { busy: boolean; problem: Problem | null }; onCancel: () => void; onConfirm?: () => void; danger?: boolean }) {
  return (
    <>
      <ProblemMessage problem={action.problem} />
      <div class="actions">
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type={onConfirm ? 'button' : 'submit'} class={danger ? 'danger' : undefined} onClick={onConfirm} disabled={action.busy}>
          {label}
        </button>
      </div>
    </>
  )
}
