/**
 * A change and its domain events, committed together: `work` runs in a transaction and emits
 * events; they are appended to the outbox in that same transaction and published on the bus only
 * after it commits. Nothing is published for a change that rolled back. A change that edits or
 * deletes content also forgets it in the stored events (`redact`), in that same transaction.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../storage/schema.js'
import type { EventBus } from './bus.js'
import type { DomainEvent } from './envelope.js'
import { Outbox } from './outbox.js'
import { type Redact, redactIn } from './redaction.js'

export type Emit = (event: DomainEvent) => void

export class UnitOfWork {
  private readonly outbox: Outbox

  constructor(
    private readonly db: Kysely<Database>,
    private readonly bus: EventBus,
  ) {
    this.outbox = new Outbox(db)
  }

  async run<T>(work: (trx: Kysely<Database>, emit: Emit, redact: Redact) => Promise<T>): Promise<T> {
    const events: DomainEvent[] = []
    const result = await this.db.transaction().execute(async (trx) => {
      const value = await work(trx, (event) => events.push(event), redactIn(trx))
      await this.outbox.append(trx, events)
      return value
    })
    this.bus.publish(events)
    return result
  }
}
