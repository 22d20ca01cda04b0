/**
 * The unread messages of one membership, as a subquery of a query over `members as mb`: the messages
 * above its read position that are neither the member's own nor deleted, counted (`n`). Used by
 * GET /v1/me/unread (store.ts) and the push badge (push/unread.ts), so both count alike.
 *
 * A range of the messages' primary key (conversation, seq), read in seq order, rather than a join:
 * PostgreSQL, its statistics not yet caught up with a busy new table, planned the join (and a plain
 * subquery) as a scan of all the tenant's messages per membership — 70–100 ms per push batch; the
 * order leaves it the primary key, whatever the statistics say.
 *
 * `window`: look at no more than that many messages past the read position (the scan stops there,
 * however much lies beyond).
 */
import { type ExpressionBuilder, sql } from 'kysely'
import type { Database } from '../storage/schema.js'

type WithMembership = Database & { mb: Database['members'] }

export function unreadOfMembership(eb: ExpressionBuilder<WithMembership, 'mb'>, window?: number) {
  let messages = eb
    .selectFrom('messages as m')
    .select('m.seq')
    .whereRef('m.tenant_id', '=', 'mb.tenant_id')
    .whereRef('m.environment', '=', 'mb.environment')
    .whereRef('m.conversation_id', '=', 'mb.conversation_id')
    .whereRef('m.seq', '>', 'mb.last_read_seq')
    .whereRef('m.sender_id', '<>', 'mb.user_id')
    .where('m.deleted_at', 'is', null)
    .orderBy('m.seq')
  if (window !== undefined) messages = messages.where(sql<boolean>`m.seq <= mb.last_read_seq + ${sql.lit(window)}`).limit(sql.lit(window))
  return eb.selectFrom(messages.as('w')).select((inner) => inner.fn.countAll<string | number>().as('n'))
}
