/** Writing domain events to the outbox table, inside the caller's transaction. */
import type { Kysely } from 'kysely'
import type { Environment } from '../auth/key-format.js'
import { newSortableId } from '../ids.js'
import { prepareBySize } from '../storage/prepared.js'
import type { Database } from '../storage/schema.js'
import type { ChatEventType, DomainEvent } from './envelope.js'

export function domainEvent(
  type: ChatEventType,
  scope: { tenantId: string; environment: Environment },
  conversationId: string | null,
  data: Record<string, unknown>,
): DomainEvent {
  return {
    id: newSortableId('event'),
    type,
    tenantId: scope.tenantId,
    environment: scope.environment,
    conversationId,
    createdAt: new Date().toISOString(),
    data,
  }
}

const CHUNK = 100 // rows per insert: 7 columns each, under SQLite's bound-parameter limit
const COLUMNS = 7

/** The outbox table: events are appended inside the transaction of the change they describe. */
export class Outbox {
  private readonly insertQuery

  constructor(db: Kysely<Database>) {
    this.insertQuery = prepareBySize((arg, size) =>
      db.insertInto('events').values(
        Array.from({ length: size }, (_, row) => {
          const at = (column: number) => arg(row * COLUMNS + column)
          return { id: at(0), tenant_id: at(1), environment: at(2), type: at(3), conversation_id: at(4), data: at(5), created_at: at(6) }
        }),
      ),
    )
  }

  async append(trx: Kysely<Database>, events: readonly DomainEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK)
      const args = chunk.flatMap((e) => [e.id, e.tenantId, e.environment, e.type, e.conversationId, JSON.stringify(e.data), e.createdAt])
      await this.insertQuery(chunk.length).execute(trx, args)
    }
  }
}
