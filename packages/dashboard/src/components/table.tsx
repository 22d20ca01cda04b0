/**
 * A table that scrolls sideways on a narrow screen inside a focusable region, so it can be
 * scrolled from the keyboard too (375 px wide phones).
 */
import type { ComponentChildren } from 'preact'

export function Table({ caption, head, children }: { caption: string; head: string[]; children: ComponentChildren }) {
  return (
    <div class="table-scroll" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {head.map((name) => (
              <th scope="col" key={name}>
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  )
}

export function LoadMore({ cursor, onMore, busy }: { cursor: string | null | undefined; onMore: () => void; busy?: boolean }) {
  if (!cursor) return null
  return (
    <button type="button" class="secondary" onClick={onMore} disabled={busy}>
      {busy ? 'Loading…' : 'Load more'}
    </button>
  )
}
