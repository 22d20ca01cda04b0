/**
 * One error class, one closed list of codes, one mapping to RFC 9457 problem+json.
 * Services throw ApiError; the HTTP edge (http/problem.ts) turns it into a response.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, title: 'Bad Request' },
  validation_failed: { status: 400, title: 'Bad Request' },
  authentication_required: { status: 401, title: 'Unauthorized' },
  invalid_api_key: { status: 401, title: 'Unauthorized' },
  invalid_token: { status: 401, title: 'Unauthorized' },
  token_expired: { status: 401, title: 'Unauthorized' },
  token_revoked: { status: 401, title: 'Unauthorized' },
  tenant_mismatch: { status: 401, title: 'Unauthorized' },
  insufficient_scope: { status: 403, title: 'Forbidden' },
  forbidden: { status: 403, title: 'Forbidden' },
  origin_not_allowed: { status: 403, title: 'Forbidden' },
  key_type_not_allowed: { status: 403, title: 'Forbidden' },
  plan_limit_reached: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not Found' },
  user_not_found: { status: 404, title: 'Not Found' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload Too Large' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type' },
  rate_limited: { status: 429, title: 'Too Many Requests' },
  internal_error: { status: 500, title: 'Internal Server Error' },
  unavailable: { status: 503, title: 'Service Unavailable' },
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
