/** Writing domain events to the outbox table, inside the caller's transaction. */
import type { Kysely } from 'kysely'
import type { Environment } from '../core/environment.js'
import { newSortableId } from '../core/ids.js'
import { prepareBySize } from '../storage/prepared.js'
import type { Database } from '../storage/schema.js'
import { storedForm } from './content.js'
import type { DomainEvent, EventData, EventOf, EventType } from './envelope.js'

/** A new event of `type`; `data` must be that type's data. */
export function domainEvent<T extends EventType>(
  type: T,
  scope: { tenantId: string; environment: Environment },
  conversationId: string | null,
  data: EventData<T>,
): EventOf<T> {
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

const CHUNK = 100 // rows per insert: 9 columns each, under SQLite's bound-parameter limit
const COLUMNS = 9

/** The outbox table: events are appended inside the transaction of the change they describe. */
export class Outbox {
  private readonly insertQuery

  constructor(db: Kysely<Database>) {
    this.insertQuery = prepareBySize((arg, size) =>
      db.insertInto('events').values(
        Array.from({ length: size }, (_, row) => {
          const at = (column: number) => arg(row * COLUMNS + column)
          return {
            id: at(0),
            tenant_id: at(1),
            environment: at(2),
            type: at(3),
            conversation_id: at(4),
            content_id: at(5),
            data: at(6),
            content: at(7),
            created_at: at(8),
          }
        }),
      ),
    )
  }

  async append(trx: Kysely<Database>, events: readonly DomainEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK)
      const args = chunk.flatMap((e) => {
        const stored = storedForm(e)
        return [e.id, e.tenantId, e.environment, e.type, e.conversationId, stored.contentId, stored.data, stored.content, e.createdAt]
      })
      await this.insertQuery(chunk.length).execute(trx, args)
    }
  }
}
