/** The one check of a problem+json answer (API.md §0.2, §0.3), for HTTP responses and refused upgrades alike. */
import { expect } from 'vitest'
import { ERROR_CODES } from '../../src/core/errors.js'
import { TEST_PUBLIC_URL } from './parley.js'

/** What `TestParley.call` returns, or what `refusedUpgrade` (realtime.ts) does. */
export interface Answer {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: any
  text?: string
}

/**
 * Asserts a problem+json answer: the status, the media type, a code from the closed list (the one
 * given, if given), a title and a detail, the type URL of the code's documentation, and the request
 * id of the `x-request-id` header. Returns the body for further checks.
 */
export function expectProblem(answer: Answer, status: number, code?: string): any {
  const shown = answer.text ?? JSON.stringify(answer.body)
  expect(answer.status, shown).toBe(status)
  expect(answer.headers['content-type'], shown).toMatch(/^application\/problem\+json/)
  const body = answer.body
  if (code !== undefined) expect(body?.code, shown).toBe(code)
  expect(Object.keys(ERROR_CODES), shown).toContain(body?.code)
  expect(body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) })
  expect(body.type).toBe(`${TEST_PUBLIC_URL}/docs/errors#${body.code}`)
  expect(body.requestId).toMatch(/\S/)
  expect(body.requestId).toBe(answer.headers['x-request-id'])
  return body
}
