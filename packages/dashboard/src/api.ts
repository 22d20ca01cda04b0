/**
 * Every request the dashboard makes. After sign-in the httpOnly session cookie authenticates it
 * (`credentials: 'same-origin'`), so no key is ever held by the page. The operator acts on a
 * tenant with `x-tenant-id` and `x-environment` (API.md §1.2); a tenant session is bound to its
 * key's tenant and environment and sends neither. Every failure becomes a Problem carrying the
 * API's problem+json (its `detail` and `requestId` are shown to the user).
 */
import type { components } from '@parley/protocol/api'

export type Schemas = components['schemas']
export type Environment = 'live' | 'test'

export interface Session {
  kind: 'operator' | 'tenant'
  tenant: { id: string; name: string; plan: string } | null
  environment: Environment | null
  scopes: string[] | null
  expiresAt: string
}

export interface Page<T> {
  data: T[]
  nextCursor: string | null
}

/** A problem+json answer (or a stand-in for a request that got no answer). */
export class Problem extends Error {
  readonly status: number
  readonly title: string
  readonly detail: string
  readonly code: string
  readonly requestId: string | null
  readonly errors: { param: string; message: string }[]

  constructor(body: Omit<Partial<Schemas['Problem']>, 'code'> & { status: number; code?: string }, requestId: string | null) {
    super(body.detail ?? body.title ?? `HTTP ${body.status}`)
    this.status = body.status
    this.title = body.title ?? 'Error'
    this.detail = body.detail ?? this.message
    this.code = body.code ?? 'unknown'
    this.requestId = body.requestId ?? requestId
    this.errors = Array.isArray(body.errors) ? body.errors : []
  }
}

/** Where calls go: nothing for admin routes, the chosen tenant and environment for the operator. */
export interface Target {
  tenantId: string | null
  environment: Environment
}

type Query = Record<string, string | number | undefined | null>

let onUnauthorized: (() => void) | null = null

/** Called on any 401: the app checks whether the session itself ended. */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler
}

export async function request<T>(method: string, path: string, options: { body?: unknown; query?: Query; target?: Target | null } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.target?.tenantId) {
    headers['x-tenant-id'] = options.target.tenantId
    headers['x-environment'] = options.target.environment
  }
  let response: Response
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    })
  } catch {
    throw new Problem({ status: 0, title: 'Network error', detail: 'The server could not be reached. Check your connection and try again.', code: 'network_error' }, null)
  }
  const requestId = response.headers.get('x-request-id')
  const text = await response.text()
  let body: unknown = null
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    body = null
  }
  if (!response.ok) {
    const problem = new Problem(isObject(body) ? { ...(body as Partial<Schemas['Problem']>), status: response.status } : { status: response.status, title: response.statusText || 'Error', detail: `The server answered ${response.status}.` }, requestId)
    if (response.status === 401 && !path.startsWith('/v1/dashboard/session')) onUnauthorized?.()
    throw problem
  }
  return body as T
}

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(name, String(value))
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The calls a page makes, bound to the tenant and environment it shows. */
export interface Api {
  target: Target
  get<T>(path: string, query?: Query): Promise<T>
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>
}

export function apiFor(session: Session, tenantId: string | null, environment: Environment): Api {
  // A tenant session's cookie already names its tenant and environment.
  const target: Target = session.kind === 'operator' ? { tenantId, environment } : { tenantId: null, environment }
  // Operator routes act on no tenant.
  const targetOf = (path: string) => (path.startsWith('/v1/admin/') ? null : target)
  return {
    target,
    get: (path, query) => request('GET', path, { query, target: targetOf(path) }),
    send: (method, path, body) => request(method, path, { body, target: targetOf(path) }),
  }
}

export const sessionApi = {
  current: () => request<Session>('GET', '/v1/dashboard/session'),
  signIn: (key: string) => request<Session>('POST', '/v1/dashboard/session', { body: { key } }),
  signOut: () => request<null>('DELETE', '/v1/dashboard/session'),
}
