/** Writing domain events to the outbox table, inside the caller's transaction. */
import type { Kysely } from 'kysely'
import type { Environment } from '../auth/key-format.js'
import { newId } from '../ids.js'
import type { Database } from '../storage/schema.js'
import type { ChatEventType, DomainEvent } from './envelope.js'

export function domainEvent(
  type: ChatEventType,
  scope: { tenantId: string; environment: Environment },
  conversationId: string | null,
  data: Record<string, unknown>,
): DomainEvent {
  return {
    id: newId('event'),
    type,
    tenantId: scope.tenantId,
    environment: scope.environment,
    conversationId,
    createdAt: new Date().toISOString(),
    data,
  }
}

export async function appendEvents(db: Kysely<Database>, events: readonly DomainEvent[]): Promise<void> {
  if (events.length === 0) return
  await db
    .insertInto('events')
    .values(
      events.map((e) => ({
        id: e.id,
        tenant_id: e.tenantId,
        environment: e.environment,
        type: e.type,
        conversation_id: e.conversationId,
        data: JSON.stringify(e.data),
        created_at: e.createdAt,
      })),
    )
    .execute()
}
