/**
 * Total unread counts of many users at once, for the badge of their notifications. The same count
 * as GET /v1/me/unread's `total` (conversations/store.ts `unreadCounts`, API.md §9 *Unread*): the
 * messages above each membership's read position that are neither the user's own nor deleted,
 * summed over its conversations; here for every recipient of a batch of messages in one grouped
 * query per chunk of users instead of one per user.
 *
 * Bounded (docs/push.md, *Badge*): per conversation only the UNREAD_WINDOW messages right after
 * the read position are looked at, so a badge costs at most that many index entries per
 * membership however much is unread. Below that the badge is exact (and agrees with
 * GET /v1/me/unread); a conversation with more unread counts as at most UNREAD_WINDOW.
 */
import { type Kysely, sql } from 'kysely'
import { unreadOfMembership } from '../conversations/unread-query.js'
import type { Database } from '../storage/schema.js'
import type { PushScope } from './model.js'

const CHUNK = 500
/** Messages after the read position a badge looks at, per conversation ("99+" on most devices). */
export const UNREAD_WINDOW = 100

export async function unreadTotals(db: Kysely<Database>, scope: PushScope, userIds: readonly string[]): Promise<Map<string, number>> {
  const totals = new Map<string, number>()
  for (let i = 0; i < userIds.length; i += CHUNK) {
    const rows = await db
      .selectFrom('members as mb')
      .select((eb) => ['mb.user_id as userId', sql<string | number>`sum((${unreadOfMembership(eb, UNREAD_WINDOW)}))`.as('unread')])
      .where('mb.tenant_id', '=', scope.tenantId)
      .where('mb.environment', '=', scope.environment)
      .where('mb.user_id', 'in', userIds.slice(i, i + CHUNK))
      .groupBy('mb.user_id')
      .execute()
    for (const row of rows) if (Number(row.unread) > 0) totals.set(row.userId, Number(row.unread))
  }
  return totals
}
