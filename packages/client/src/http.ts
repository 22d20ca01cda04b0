/**
 * The one HTTP path of the client: JSON in and out, a timeout, and every failure thrown as its
 * error class (problem+json answers by status, no answer at all as ConnectionError).
 */
import { AuthenticationError, ConnectionError, ParleyError, errorFromProblem } from '@parley/protocol/errors'

export interface HttpOptions {
  fetch: typeof fetch
  timeoutMs: number
}

export interface Call {
  method: string
  headers?: Record<string, string>
  body?: unknown
}

/** One request to `url`: the parsed JSON answer (undefined for 204), or a ParleyError. */
export async function call<T>(http: HttpOptions, url: string, { method, headers = {}, body }: Call): Promise<T> {
  let status: number
  let text: string
  let answerHeaders: Headers
  try {
    const response = await http.fetch(url, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(http.timeoutMs),
    })
    status = response.status
    answerHeaders = response.headers
    text = await response.text()
  } catch (error) {
    const timedOut = (error as Error | null)?.name === 'TimeoutError'
    throw new ConnectionError({
      code: timedOut ? 'timeout' : 'connection_failed',
      detail: timedOut ? `No answer from ${url} within ${http.timeoutMs} ms` : `Could not reach ${url}`,
      cause: error,
    })
  }
  let json: unknown = null
  try {
    json = text ? JSON.parse(text) : null
  } catch {
    // A proxy's HTML error page: errorFromProblem names it by its status.
  }
  if (status < 200 || status > 299) throw errorFromProblem(status, json, answerHeaders)
  return (json ?? undefined) as T
}

/** Whatever a user callback threw, as a ParleyError (one it threw itself is kept as it is). */
export function asParleyError(error: unknown, code = 'connection_failed'): ParleyError {
  if (error instanceof ParleyError) return error
  return new ConnectionError({ code, detail: String((error as Error | null)?.message ?? error), cause: error })
}

/** 401 codes that a fresh token can cure: the client asks for one and retries once. */
const RENEWABLE = ['token_expired', 'token_revoked', 'invalid_token']

export function isRenewable(error: unknown): boolean {
  return error instanceof AuthenticationError && RENEWABLE.includes(error.code)
}

/** `?a=1&b=x` from the defined values of `query` ('' when none is). */
export function queryString(query: Record<string, string | number | undefined> = {}): string {
  const pairs = Object.entries(query).filter(([, value]) => value !== undefined) as [string, string | number][]
  return pairs.length === 0 ? '' : `?${pairs.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&')}`
}
