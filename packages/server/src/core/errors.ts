/**
 * One error class, one closed list of codes, one mapping to RFC 9457 problem+json.
 * Services throw ApiError; the HTTP edge (http/problem.ts) turns it into a response.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, title: 'Bad Request', when: 'Malformed JSON, a bad header, x-api-key and Authorization carrying different keys, or an HTTP request the server cannot parse.' },
  validation_failed: { status: 400, title: 'Bad Request', when: 'The body or query does not match the schema (unknown body fields included); errors[] names each parameter.' },
  authentication_required: { status: 401, title: 'Unauthorized', when: 'No credential at all: send x-api-key or Authorization: Bearer. Also a dashboard session cookie whose session has ended (signed out or past its 12 hours).' },
  invalid_api_key: { status: 401, title: 'Unauthorized', when: 'The key is unknown, malformed, fails its checksum, is revoked or expired. One answer for all, on purpose.' },
  invalid_token: { status: 401, title: 'Unauthorized', when: 'The session token is malformed, badly signed, for another audience, or names an unknown signing key.' },
  token_expired: { status: 401, title: 'Unauthorized', when: 'The session token is past its exp: ask your session route for a new one.' },
  token_revoked: { status: 401, title: 'Unauthorized', when: "The user's tokens were revoked after this one was minted, or the user was deleted." },
  invalid_signature: { status: 401, title: 'Unauthorized', when: 'A signed leak report whose signature is missing, names an unknown public key, or does not verify over the body as sent.' },
  tenant_mismatch: { status: 401, title: 'Unauthorized', when: "x-tenant-id (or x-sender-id) names another tenant than the key's." },
  insufficient_scope: { status: 403, title: 'Forbidden', when: 'The key or token lacks the scope the endpoint needs; detail names it.' },
  forbidden: { status: 403, title: 'Forbidden', when: 'Authenticated but not allowed: not a member, not the sender, an end user on a tenant endpoint, or a suspended tenant.' },
  origin_not_allowed: { status: 403, title: 'Forbidden', when: 'A publishable key used from an Origin that is not on its allow-list.' },
  key_type_not_allowed: { status: 403, title: 'Forbidden', when: 'A publishable key on a secret-key endpoint, or a secret key where only a session token makes sense.' },
  plan_limit_reached: { status: 403, title: 'Forbidden', when: "The tenant's plan allows no more of this (e.g. active keys per environment)." },
  not_found: { status: 404, title: 'Not Found', when: "No such route, or no such resource in the caller's tenant and environment." },
  user_not_found: { status: 404, title: 'Not Found', when: 'A user id that was never upserted in this environment.' },
  conflict: { status: 409, title: 'Conflict', when: "An id that already exists, or a change the resource's state does not allow." },
  payload_too_large: { status: 413, title: 'Payload Too Large', when: 'A body over 1 MiB.' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type', when: 'A body that is not application/json.' },
  rate_limited: { status: 429, title: 'Too Many Requests', when: 'Over the limit: wait Retry-After seconds.' },
  internal_error: { status: 500, title: 'Internal Server Error', when: 'A bug on our side. The body never carries its details; the request id finds them in the logs.' },
  unavailable: { status: 503, title: 'Service Unavailable', when: 'Storage or Redis did not answer: retry shortly.' },
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export interface FieldError {
  param: string
  message: string
}

export class ApiError extends Error {
  readonly code: ErrorCode
  /** Overrides the code's usual status (only for 431, which shares invalid_request). */
  readonly status: number
  readonly errors?: FieldError[]
  readonly headers?: Record<string, string>

  constructor(
    code: ErrorCode,
    detail: string,
    extra: { errors?: FieldError[]; headers?: Record<string, string>; status?: number } = {},
  ) {
    super(detail)
    this.name = 'ApiError'
    this.code = code
    this.status = extra.status ?? ERROR_CODES[code].status
    this.errors = extra.errors
    this.headers = extra.headers
  }
}

/** A 400 validation_failed naming the offending parameter. */
export function invalidParam(param: string, message: string): ApiError {
  return new ApiError('validation_failed', `${param}: ${message}`, { errors: [{ param, message }] })
}

export const notFound = (what = 'Resource'): ApiError => new ApiError('not_found', `${what} not found`)

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  requestId: string
  errors?: FieldError[]
}

export function problemBody(error: ApiError, requestId: string, docsBase: string): ProblemBody {
  const body: ProblemBody = {
    type: `${docsBase}/docs/errors#${error.code}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
    requestId,
  }
  if (error.errors) body.errors = error.errors
  return body
}
