/**
 * The dashboard's state lives in the URL's hash, so any view can be bookmarked and shared:
 * `#/keys?tenant=ten_…&env=test`, `#/conversations?tenant=ten_…&env=live&conversation=conv_…`.
 * Hash routing needs nothing from the server beyond serving index.html at /dashboard/.
 */
import { useEffect, useState } from 'preact/hooks'
import type { Environment } from './api'

export const PAGES = ['tenants', 'keys', 'usage', 'users', 'conversations', 'webhooks', 'push'] as const
export type PageName = (typeof PAGES)[number]

export interface Route {
  page: PageName | null
  tenant: string | null
  env: Environment
  /** Page-specific state: an open user, conversation or endpoint, a usage window. */
  params: Record<string, string>
}

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?', 2)
  const search = new URLSearchParams(query)
  const page = (PAGES as readonly string[]).includes(path) ? (path as PageName) : null
  const params: Record<string, string> = {}
  for (const [name, value] of search) if (name !== 'tenant' && name !== 'env') params[name] = value
  return { page, tenant: search.get('tenant') || null, env: search.get('env') === 'test' ? 'test' : 'live', params }
}

export function hrefOf(route: Route): string {
  const search = new URLSearchParams()
  if (route.tenant) search.set('tenant', route.tenant)
  search.set('env', route.env)
  for (const [name, value] of Object.entries(route.params)) if (value) search.set(name, value)
  return `#/${route.page ?? ''}?${search.toString()}`
}

export function navigate(route: Route, options: { replace?: boolean } = {}): void {
  const href = hrefOf(route)
  if (location.hash === href) return
  if (options.replace) history.replaceState(null, '', href)
  else location.hash = href
  if (options.replace) window.dispatchEvent(new HashChangeEvent('hashchange'))
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash))
    window.addEventListener('hashchange', update)
    return () => window.removeEventListener('hashchange', update)
  }, [])
  return route
}
