/**
 * Opaque list cursors: the sort position of the last item returned, base64url-encoded.
 * A cursor that does not decode is a 400, never a 500.
 */
import { ApiError } from '../core/errors.js'

export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url')
}

export function decodeCursor(cursor: string | undefined, arity: number): (string | number)[] | null {
  if (cursor === undefined) return null
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(value) && value.length === arity && value.every((v) => ['string', 'number'].includes(typeof v))) {
      return value as (string | number)[]
    }
  } catch {
    // fall through to the error below
  }
  throw new ApiError('validation_failed', 'cursor: not a cursor this API returned', {
    errors: [{ param: 'cursor', message: 'not a cursor this API returned' }],
  })
}

/** Splits a page fetched with limit + 1 rows into the page and the next cursor. */
export function pageOf<T>(rows: T[], limit: number, positionOf: (row: T) => (string | number)[]) {
  const hasMore = rows.length > limit
  const data = hasMore ? rows.slice(0, limit) : rows
  const last = data[data.length - 1]
  return { data, nextCursor: hasMore && last ? encodeCursor(positionOf(last)) : null }
}
