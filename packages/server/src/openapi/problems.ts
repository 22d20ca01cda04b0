/**
 * The error responses of each operation in the OpenAPI document: `application/problem+json` with
 * `code` narrowed to the codes the operation can answer, one response per status. The codes come
 * from what every route shares (auth policy, schemas, body parsing), derived here, plus the ones the
 * route declares itself (`schema.errorCodes`).
 */
import { STATUS_CODES } from 'node:http'
import { ERROR_CODES, type ErrorCode } from '../core/errors.js'
import type { AuthPolicy } from '../http/types.js'

export interface RouteFacts {
  method: string
  policy: AuthPolicy | undefined
  hasBody: boolean
  hasQuery: boolean
  hasParams: boolean
  declared: readonly ErrorCode[]
}

/** Every code the route can answer. */
export function codesOf(route: RouteFacts): Set<ErrorCode> {
  const codes = new Set<ErrorCode>(['internal_error', 'unavailable'])
  const add = (...more: ErrorCode[]) => more.forEach((code) => codes.add(code))
  if (route.hasBody || route.hasQuery || route.hasParams) add('validation_failed')
  // Any body is parsed (and its media type and size checked) before the route sees it.
  if (['POST', 'PUT', 'PATCH'].includes(route.method)) add('invalid_request', 'payload_too_large', 'unsupported_media_type')
  if (route.hasParams) add('not_found')
  const { policy } = route
  // A signed route takes no credential; a bad signature counts as a failed authentication.
  if (policy?.signed) add('invalid_signature', 'rate_limited')
  if (policy && policy.callers.length > 0) {
    // Whatever the route takes, any credential may be presented, and each kind fails its own way;
    // no route takes every kind, and any tenant may be suspended.
    add('invalid_request', 'authentication_required', 'invalid_api_key', 'invalid_token', 'token_expired', 'token_revoked', 'tenant_mismatch')
    add('forbidden', 'key_type_not_allowed', 'rate_limited')
    if (policy.scope) add('insufficient_scope')
    if (policy.callers.includes('publishable')) add('origin_not_allowed')
    // The admin key acting on a tenant names it in x-tenant-id: an unknown one is 404.
    if (policy.callers.includes('secret')) add('not_found')
  }
  add(...route.declared)
  return codes
}

const HEADERS: Record<number, Record<string, { type: string; description: string }>> = {
  401: { 'WWW-Authenticate': { type: 'string', description: 'Bearer realm="parley", with error="invalid_token" for session-token failures' } },
  429: { 'Retry-After': { type: 'integer', description: 'Seconds to wait before trying again' } },
}

/** One response per status, its schema the shared Problem with `code` narrowed, and an example. */
export function problemResponses(codes: Set<ErrorCode>, publicUrl: string): Record<number, unknown> {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    if (!codes.has(code)) continue
    const { status } = ERROR_CODES[code]
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  const responses: Record<number, unknown> = {}
  for (const [status, list] of byStatus) {
    const [first] = list as [ErrorCode]
    responses[status] = {
      description: `${STATUS_CODES[status]}: ${list.map((code) => `\`${code}\``).join(', ')}`,
      ...(HEADERS[status] && { headers: HEADERS[status] }),
      content: {
        'application/problem+json': {
          schema: { allOf: [{ $ref: 'Problem' }], type: 'object', properties: { code: { type: 'string', enum: list } }, required: ['code'] },
          example: {
            type: `${publicUrl}/docs/errors#${first}`,
            title: ERROR_CODES[first].title,
            status,
            detail: ERROR_CODES[first].when,
            code: first,
            requestId: 'req_uKyTI3smkwlqcKrSRZ2cof',
          },
        },
      },
    }
  }
  return responses
}
