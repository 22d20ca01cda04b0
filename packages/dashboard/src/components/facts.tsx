/** One fact of a `<dl class="facts">` (an id, a status, a date): its name and its value. */
import type { ComponentChildren } from 'preact'

export function Fact({ term, children, clip }: { term: string; children: ComponentChildren; clip?: boolean }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd class={clip ? 'clip' : undefined}>{children}</dd>
    </div>
  )
}
