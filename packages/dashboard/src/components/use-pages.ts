/** A cursor-paged list (API.md §0.4): the first page on load, then Load more appends the next. */
import { useState } from 'preact/hooks'
import type { Page } from '../api'
import { type Resource, useAction, useResource } from './use-resource'

export interface PagedList<T> {
  items: T[] | undefined
  first: Resource<Page<T>>
  more: ReturnType<typeof useAction>
  cursor: string | null | undefined
  loadMore(): Promise<void>
}

export function usePages<T>(load: (cursor?: string) => Promise<Page<T>>, inputs: unknown[]): PagedList<T> {
  const [extra, setExtra] = useState<T[]>([])
  const [cursor, setCursor] = useState<string | null | undefined>(undefined)
  const first = useResource(async () => {
    const page = await load()
    setExtra([])
    setCursor(page.nextCursor)
    return page
  }, inputs)
  const more = useAction()
  async function loadMore() {
    if (!cursor) return
    const page = await more.run(() => load(cursor))
    if (page) {
      setExtra((earlier) => [...earlier, ...page.data])
      setCursor(page.nextCursor)
    }
  }
  return { items: first.data ? [...first.data.data, ...extra] : undefined, first, more, cursor, loadMore }
}
