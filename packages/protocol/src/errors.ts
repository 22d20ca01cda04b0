/**
 * The errors both SDKs throw (SDK.md "Errors"): one class per kind of failure, chosen by the HTTP
 * status of the problem+json answer (API.md §0.2), so `catch` can branch on the class and log the
 * stable `code` and the `requestId` that finds the call in Parley's logs.
 */

/** One parameter the API refused: an item of a problem+json `errors` array. */
export interface FieldError {
  param: string
  message: string
}

/** The fields of a ParleyError, as a problem+json body carries them. */
export interface ParleyErrorInit {
  /** The HTTP status; absent when no answer came (ConnectionError) or for a socket frame without one. */
  status?: number
  /** The stable code, e.g. `token_expired` (API.md §0.2). Branch on this, never on `detail`. */
  code: string
  /** A sentence for people; it may change between versions. */
  detail: string
  /** `req_…`: quote it when asking for help; it finds the call in Parley's logs. */
  requestId?: string
  /** Per-parameter messages of a `validation_failed` answer. */
  errors?: FieldError[]
  cause?: unknown
}

/**
 * Any failed Parley call. Every error the SDKs throw for a call is an instance of this class.
 *
 * @example
 * try {
 *   await parley.messages.send(conversationId, { text })
 * } catch (error) {
 *   if (error instanceof RateLimitError) retryIn(error.retryAfter)
 *   else if (error instanceof ParleyError) console.error(error.code, error.requestId)
 * }
 */
export class ParleyError extends Error {
  override name = 'ParleyError'
  readonly status: number | undefined
  readonly code: string
  readonly detail: string
  readonly requestId: string | undefined
  readonly errors: FieldError[] | undefined

  constructor(init: ParleyErrorInit) {
    super(`${init.code}: ${init.detail}${init.requestId ? ` (request ${init.requestId})` : ''}`, init.cause === undefined ? undefined : { cause: init.cause })
    this.status = init.status
    this.code = init.code
    this.detail = init.detail
    this.requestId = init.requestId
    this.errors = init.errors
  }
}

/** 401: the credential is missing, invalid, expired or revoked (`code` says which). */
export class AuthenticationError extends ParleyError {
  override name = 'AuthenticationError'
}

/** 403: authenticated, but not allowed (not a member, missing scope, origin not allowed, …). */
export class PermissionError extends ParleyError {
  override name = 'PermissionError'
}

/** 404: no such resource in the caller's tenant and environment, or no such user. */
export class NotFoundError extends ParleyError {
  override name = 'NotFoundError'
}

/** 409: the id exists already, or the resource's state does not allow the change. */
export class ConflictError extends ParleyError {
  override name = 'ConflictError'
}

/** 400, 413 or 415: the request itself is wrong; `errors` names the parameters for `validation_failed`. */
export class ValidationError extends ParleyError {
  override name = 'ValidationError'
}

/** 429: over a rate limit. Wait `retryAfter` seconds before trying again. */
export class RateLimitError extends ParleyError {
  override name = 'RateLimitError'
  /** Seconds to wait, from `Retry-After` (always sent on REST answers; absent on a socket's `error` frame). */
  readonly retryAfter: number | undefined

  constructor(init: ParleyErrorInit & { retryAfter?: number }) {
    super(init)
    this.retryAfter = init.retryAfter
  }
}

/** 5xx: Parley failed (`internal_error`) or could not reach its storage (`unavailable`): retry later. */
export class ServerError extends ParleyError {
  override name = 'ServerError'
}

/** No answer at all: the network failed (`connection_failed`) or the call timed out (`timeout`). No `status`. */
export class ConnectionError extends ParleyError {
  override name = 'ConnectionError'
}

/** Headers as fetch's `Headers` or as a plain object (Node's `IncomingHttpHeaders`). */
export type HeaderSource = { get(name: string): string | null } | Record<string, string | string[] | undefined>

function header(headers: HeaderSource | null | undefined, name: string): string | undefined {
  if (!headers) return undefined
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined
  const value = (headers as Record<string, unknown>)[name]
  return Array.isArray(value) ? String(value[0]) : typeof value === 'string' ? value : undefined
}

/** The code of an answer that is not problem+json (a proxy's HTML page, an empty 502). */
function codeOfStatus(status: number): string {
  if (status === 401) return 'authentication_required'
  if (status === 404) return 'not_found'
  if (status === 429) return 'rate_limited'
  if (status >= 502 && status <= 504) return 'unavailable'
  if (status >= 500) return 'internal_error'
  return 'invalid_request'
}

/**
 * The error for a failed HTTP answer: its class from the status, its fields from the problem+json
 * body (or sensible ones when the body is not problem+json), the request id from the body or the
 * `x-request-id` header, and `retryAfter` from `Retry-After` for a 429.
 *
 * @example
 * const res = await fetch(url, init)
 * if (!res.ok) throw errorFromProblem(res.status, await res.json().catch(() => null), res.headers)
 */
export function errorFromProblem(status: number, body: unknown, headers?: HeaderSource | null): ParleyError {
  const problem = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined)
  const init: ParleyErrorInit = {
    status,
    code: text(problem.code) ?? codeOfStatus(status),
    detail: text(problem.detail) ?? text(problem.title) ?? `HTTP ${status}`,
    requestId: text(problem.requestId) ?? header(headers, 'x-request-id'),
    errors: Array.isArray(problem.errors) ? (problem.errors as FieldError[]) : undefined,
  }
  return errorOfStatus(status, init, Number(header(headers, 'retry-after')))
}

/** Statuses of the codes a socket `error` frame or close reason can carry (API.md §0.2, §6). */
const FRAME_STATUS: Record<string, number> = {
  bad_frame: 400,
  invalid_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  invalid_token: 401,
  token_expired: 401,
  token_revoked: 401,
  invalid_api_key: 401,
  insufficient_scope: 403,
  forbidden: 403,
  not_found: 404,
  user_not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
}

/**
 * The error for a socket `{ type: "error", code, message }` frame: the class a REST answer with the
 * same code would have. Socket errors carry no request id.
 */
export function errorFromFrame(code: string, message: string): ParleyError {
  const status = FRAME_STATUS[code] ?? 500
  return errorOfStatus(status, { status, code, detail: message || code }, NaN)
}

function errorOfStatus(status: number, init: ParleyErrorInit, retryAfter: number): ParleyError {
  if (status === 401) return new AuthenticationError(init)
  if (status === 403) return new PermissionError(init)
  if (status === 404) return new NotFoundError(init)
  if (status === 409) return new ConflictError(init)
  if (status === 429) return new RateLimitError({ ...init, retryAfter: Number.isFinite(retryAfter) ? retryAfter : undefined })
  if (status === 400 || status === 413 || status === 415) return new ValidationError(init)
  if (status >= 500) return new ServerError(init)
  return new ParleyError(init)
}
