/**
 * The in-process event bus. Services publish after their transaction commits; consumers (the
 * realtime hub, later webhooks) subscribe. A failing consumer is logged, never propagated back
 * into the request that caused the event.
 */
import type { DomainEvent } from './envelope.js'

type Handler = (event: DomainEvent) => void

export class EventBus {
  private readonly handlers: Handler[] = []

  constructor(private readonly onHandlerError: (error: unknown, event: DomainEvent) => void) {}

  subscribe(handler: Handler): () => void {
    this.handlers.push(handler)
    return () => {
      const index = this.handlers.indexOf(handler)
      if (index >= 0) this.handlers.splice(index, 1)
    }
  }

  publish(events: readonly DomainEvent[]): void {
    for (const event of events) {
      for (const handler of this.handlers) {
        try {
          handler(event)
        } catch (error) {
          this.onHandlerError(error, event)
        }
      }
    }
  }
}
