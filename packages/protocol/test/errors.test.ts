/**
 * The shared error classes: the class a status maps to, the fields read from a problem+json body
 * and its headers, and sensible errors for answers that are not problem+json (a proxy's 502).
 * The SDK suites check the same classes against a real server's answers.
 */
import { describe, expect, it } from 'vitest'
import {
  AuthenticationError,
  ConflictError,
  NotFoundError,
  ParleyError,
  PermissionError,
  RateLimitError,
  ServerError,
  ValidationError,
  errorFromFrame,
  errorFromProblem,
} from '../src/errors.js'

const problem = (status: number, code: string) => ({ type: `https://parley.test/docs/errors#${code}`, title: 'T', status, detail: `detail of ${code}`, code, requestId: 'req_1' })

describe('errorFromProblem', () => {
  it.each([
    [400, 'validation_failed', ValidationError],
    [401, 'token_expired', AuthenticationError],
    [403, 'forbidden', PermissionError],
    [404, 'not_found', NotFoundError],
    [409, 'conflict', ConflictError],
    [413, 'payload_too_large', ValidationError],
    [415, 'unsupported_media_type', ValidationError],
    [429, 'rate_limited', RateLimitError],
    [500, 'internal_error', ServerError],
    [503, 'unavailable', ServerError],
  ] as const)('maps %i %s to its class, with every problem field', (status, code, kind) => {
    const error = errorFromProblem(status, problem(status, code), new Headers({ 'retry-after': '7' }))
    expect(error).toBeInstanceOf(kind)
    expect(error).toBeInstanceOf(ParleyError)
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe(kind.name)
    expect(error).toMatchObject({ status, code, detail: `detail of ${code}`, requestId: 'req_1' })
    expect(error.message).toBe(`${code}: detail of ${code} (request req_1)`)
  })

  it('reads Retry-After for a 429, from Headers or a plain object', () => {
    expect((errorFromProblem(429, problem(429, 'rate_limited'), new Headers({ 'retry-after': '12' })) as RateLimitError).retryAfter).toBe(12)
    expect((errorFromProblem(429, problem(429, 'rate_limited'), { 'retry-after': '3' }) as RateLimitError).retryAfter).toBe(3)
    expect((errorFromProblem(429, problem(429, 'rate_limited')) as RateLimitError).retryAfter).toBeUndefined()
  })

  it('keeps the validation errors of a 400', () => {
    const errors = [{ param: 'text', message: 'must not be empty' }]
    expect(errorFromProblem(400, { ...problem(400, 'validation_failed'), errors }).errors).toEqual(errors)
  })

  it('makes a useful error of an answer that is not problem+json, with the request id of its header', () => {
    const error = errorFromProblem(502, '<html>Bad gateway</html>', { 'x-request-id': 'req_proxy' })
    expect(error).toBeInstanceOf(ServerError)
    expect(error).toMatchObject({ status: 502, code: 'unavailable', detail: 'HTTP 502', requestId: 'req_proxy' })
    expect(errorFromProblem(418, null)).toMatchObject({ code: 'invalid_request', requestId: undefined })
    expect(errorFromProblem(418, null).constructor).toBe(ParleyError)
  })
})

describe('errorFromFrame', () => {
  it('gives a socket error the class of the same code over REST, without a request id', () => {
    expect(errorFromFrame('insufficient_scope', 'Missing scope messages:write')).toBeInstanceOf(PermissionError)
    expect(errorFromFrame('rate_limited', 'slow down')).toBeInstanceOf(RateLimitError)
    expect(errorFromFrame('validation_failed', 'text')).toBeInstanceOf(ValidationError)
    expect(errorFromFrame('internal_error', 'oops')).toMatchObject({ status: 500, code: 'internal_error', requestId: undefined })
  })
})
