/**
 * The page's h1. It takes focus when the view changes (the shell moves it there), so screen
 * reader and keyboard users start at the top of the new view, and it sets the document title.
 */
import type { ComponentChildren } from 'preact'
import { useEffect } from 'preact/hooks'

export function PageHeading({ title, children }: { title: string; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Parley dashboard`
  }, [title])
  return (
    <div class="page-heading">
      <h1 id="page-heading" tabIndex={-1}>
        {title}
      </h1>
      {children && <div class="page-actions">{children}</div>}
    </div>
  )
}
