/**
 * A change and its domain events, committed together: `work` runs in a transaction and emits
 * events; they are appended to the outbox in that same transaction and published on the bus only
 * after it commits. Nothing is published for a change that rolled back.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../storage/schema.js'
import type { EventBus } from './bus.js'
import type { DomainEvent } from './envelope.js'
import { appendEvents } from './outbox.js'

export type Emit = (event: DomainEvent) => void

export class UnitOfWork {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly bus: EventBus,
  ) {}

  async run<T>(work: (trx: Kysely<Database>, emit: Emit) => Promise<T>): Promise<T> {
    const events: DomainEvent[] = []
    const result = await this.db.transaction().execute(async (trx) => {
      const value = await work(trx, (event) => events.push(event))
      await appendEvents(trx, events)
      return value
    })
    this.bus.publish(events)
    return result
  }
}
