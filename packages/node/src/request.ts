/**
 * The one request path of @parley/node (like stripe-node's): the secret key in `Authorization`,
 * JSON in and out, a timeout, retries where SDK.md allows them, and every failure thrown as its
 * error class from @parley/protocol.
 */
import { ConnectionError, ParleyError, RateLimitError, ServerError, errorFromProblem } from '@parley/protocol/errors'

export interface RequestOptions {
  apiKey: string
  /** Parley's base URL, without `/v1`. */
  baseUrl: string
  timeoutMs: number
  maxRetries: number
  fetch: typeof fetch
}

export interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  /** The path under the base URL, starting with `/v1/`. */
  path: string
  query?: object
  body?: unknown
  /**
   * Safe to send twice: a read, an upsert, a delete, or a send with a clientMessageId. Only such a
   * request is retried after a 5xx or a network failure, which may have happened after the work was done.
   */
  idempotent?: boolean
  /** Told the status of the success answer (users.upsert: 201 created, 200 updated). */
  onStatus?: (status: number) => void
}

/** A 429 is retried (it was not processed) only when waiting is this short. */
const MAX_RETRY_AFTER_S = 10

export type Requester = <T>(call: Call) => Promise<T>

/** `baseUrl` from an apiUrl given with or without a trailing `/v1` (seed 000's form). */
export function baseUrlOf(apiUrl: string): string {
  return apiUrl.replace(/\/+$/, '').replace(/\/v1$/, '')
}

export function createRequester(options: RequestOptions): Requester {
  return async <T>(call: Call): Promise<T> => {
    const idempotent = call.idempotent ?? (call.method === 'GET' || call.method === 'PUT' || call.method === 'DELETE')
    for (let attempt = 0; ; attempt++) {
      try {
        return await once<T>(options, call)
      } catch (error) {
        const wait = attempt < options.maxRetries ? retryDelayMs(error, idempotent, attempt) : undefined
        if (wait === undefined) throw error
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
    }
  }
}

/** How long to wait before the next attempt, or undefined when the error must be thrown. */
function retryDelayMs(error: unknown, idempotent: boolean, attempt: number): number | undefined {
  if (error instanceof RateLimitError) {
    const seconds = error.retryAfter ?? 1
    return seconds <= MAX_RETRY_AFTER_S ? seconds * 1000 : undefined
  }
  if (idempotent && (error instanceof ServerError || error instanceof ConnectionError)) {
    // Full jitter over 0.5 s, 1 s, …: clients that failed together do not come back together.
    return Math.random() * 500 * 2 ** attempt
  }
  return undefined
}

async function once<T>(options: RequestOptions, { method, path, query, body, onStatus }: Call): Promise<T> {
  const url = options.baseUrl + path + queryString(query)
  let response: Response
  let text: string
  try {
    response = await options.fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        accept: 'application/json',
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs),
    })
    text = await response.text()
  } catch (error) {
    if (error instanceof ParleyError) throw error
    const timedOut = (error as Error | null)?.name === 'TimeoutError'
    throw new ConnectionError({
      code: timedOut ? 'timeout' : 'connection_failed',
      detail: timedOut ? `No answer from ${url} within ${options.timeoutMs} ms` : `Could not reach ${options.baseUrl}`,
      cause: error,
    })
  }
  let json: unknown = undefined
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    // Not JSON (a proxy's error page): errorFromProblem names it by its status.
  }
  if (!response.ok) throw errorFromProblem(response.status, json, response.headers)
  onStatus?.(response.status)
  return json as T
}

function queryString(query: object | undefined): string {
  const pairs = Object.entries(query ?? {}).filter(([, value]) => value !== undefined && value !== null)
  return pairs.length === 0 ? '' : `?${new URLSearchParams(pairs.map(([key, value]) => [key, String(value)])).toString()}`
}
