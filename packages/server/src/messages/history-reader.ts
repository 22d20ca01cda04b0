/**
 * History pages (API.md §5.3) as ready response bodies, `{"data":[…],"hasMore":…}`, kept in the
 * history cache under the conversation's version (history-cache.ts). Pages are always read by the
 * primary key (conversation, seq): `before` walks down from the top (or from a seq), `after` walks
 * up from a seq; one row more than asked tells whether there is more.
 *
 * Where each message's JSON is built depends on the engine. SQLite builds it (json_object, see
 * MESSAGE_JSON_SQLITE): it runs in this process, and that is much cheaper than creating row objects and
 * serialising them. With PostgreSQL it is built here from plain rows: JSON built by the server
 * costs it about three times the CPU per page, and the database is the part that does not scale
 * out.
 */
import type { Kysely, SelectQueryBuilder } from 'kysely'
import type { ChatScope } from '../conversations/model.js'
import type { Dialect } from '../storage/database.js'
import { type Arg, type Prepared, prepare } from '../storage/prepared.js'
import type { Database } from '../storage/schema.js'
import type { HistoryCache } from './history-cache.js'
import { MESSAGE_COLUMNS, MESSAGE_JSON_SQLITE, messageFromRow } from './model.js'

/** `before` and `after` are exclusive seqs; at most one of them. */
export interface HistoryQuery {
  before?: number
  after?: number
  limit: number
}

type Shape = 'latest' | 'below' | 'above'

export class HistoryReader {
  private readonly read: (shape: Shape, args: unknown[]) => Promise<string[]>

  constructor(
    db: Kysely<Database>,
    dialect: Dialect,
    private readonly cache: HistoryCache,
  ) {
    // [tenant, environment, conversation, (seq,) limit]
    const inConversation = (arg: Arg) =>
      db.selectFrom('messages').where('tenant_id', '=', arg(0)).where('environment', '=', arg(1)).where('conversation_id', '=', arg(2))
    this.read =
      dialect === 'sqlite'
        ? reader((arg) => inConversation(arg).select(['seq', MESSAGE_JSON_SQLITE.as('json')]), (row) => row.json, db)
        : reader((arg) => inConversation(arg).select(MESSAGE_COLUMNS), (row) => JSON.stringify(messageFromRow(row)), db)
  }

  /** The body of a page; `version` is the conversation's, as read while checking access. */
  async body(scope: ChatScope, conversationId: string, query: HistoryQuery, version: string): Promise<string> {
    const { before, after, limit } = query
    const key = `${scope.tenantId}\u0000${scope.environment}\u0000${conversationId}\u0000${before ?? ''}\u0000${after ?? ''}\u0000${limit}`
    const cached = this.cache.get(key, version)
    if (cached !== undefined) return cached
    const where = [scope.tenantId, scope.environment, conversationId]
    const texts =
      after !== undefined
        ? await this.read('above', [...where, after, limit + 1])
        : before === undefined
          ? await this.read('latest', [...where, limit + 1])
          : await this.read('below', [...where, before, limit + 1])
    const messages = texts.slice(0, limit)
    if (after === undefined) messages.reverse()
    const body = `{"data":[${messages.join(',')}],"hasMore":${texts.length > limit}}`
    this.cache.set(key, version, body)
    return body
  }
}

/** The three page queries over one selection, prepared, and how a row becomes JSON text. */
function reader<Row>(
  select: (arg: Arg) => SelectQueryBuilder<Database, 'messages', Row>,
  toText: (row: Row) => string,
  db: Kysely<Database>,
): (shape: Shape, args: unknown[]) => Promise<string[]> {
  const queries: Record<Shape, Prepared<Row>> = {
    latest: prepare((arg) => select(arg).orderBy('seq', 'desc').limit(arg(3))),
    below: prepare((arg) => select(arg).where('seq', '<', arg(3)).orderBy('seq', 'desc').limit(arg(4))),
    above: prepare((arg) => select(arg).where('seq', '>', arg(3)).orderBy('seq', 'asc').limit(arg(4))),
  }
  return async (shape, args) => (await queries[shape].execute(db, args)).map(toText)
}
