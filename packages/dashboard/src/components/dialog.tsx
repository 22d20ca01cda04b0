/**
 * A modal dialog on the native <dialog> element: showModal() makes the rest of the page inert (so
 * focus stays inside), moves focus into it and closes on Escape. It is open while mounted; on
 * close, focus goes back to the control that opened it (or to the page's heading if that control
 * is gone, e.g. the Revoke button of a key just revoked).
 */
import type { ComponentChildren } from 'preact'
import { useId, useLayoutEffect, useRef } from 'preact/hooks'

export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null)
  const id = useId()
  const closeRef = useRef(onClose)
  closeRef.current = onClose
  // Set when the dialog is unmounted, so its own close() does not report a second close.
  const unmounted = useRef(false)

  // A layout effect: its cleanup runs while the dialog is still in the document (Preact runs a
  // passive effect's cleanup only after paint, once the dialog and the focus inside it are gone).
  useLayoutEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    const dialog = ref.current!
    if (!dialog.open) dialog.showModal()
    return () => {
      unmounted.current = true
      if (dialog.open) dialog.close()
      const back = opener?.isConnected ? opener : document.getElementById('page-heading')
      back?.focus()
    }
  }, [])

  return (
    <dialog
      ref={ref}
      class={wide ? 'dialog wide' : 'dialog'}
      aria-labelledby={id}
      onCancel={(event) => {
        event.preventDefault()
        // Closed in a task of its own, after the browser has finished handling the Escape key
        // (unmounting during the cancel event could leave focus on the body).
        setTimeout(() => unmounted.current || closeRef.current())
      }}
      // Chromium may close without a cancelable cancel event (a second Escape): follow it.
      onClose={() => unmounted.current || closeRef.current()}
    >
      <h2 id={id}>{title}</h2>
      {children}
    </dialog>
  )
}
