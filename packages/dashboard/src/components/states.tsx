/** What a page shows while it loads and when it has nothing yet (saying what to do next). */
import type { ComponentChildren } from 'preact'

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  )
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <p>{children}</p>}
    </div>
  )
}

/** A polite announcement of what an action did (read by screen readers without moving focus). */
export function Notice({ text }: { text: string | null }) {
  return (
    <p class="notice" role="status">
      {text ?? ''}
    </p>
  )
}
