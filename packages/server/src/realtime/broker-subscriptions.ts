/**
 * Bookkeeping shared by the broker implementations: who listens where on this node, reference
 * counted per channel, and delivery that survives throwing handlers.
 */
import type { BrokerErrorHandler, Unsubscribe } from './broker.js'

/** A set of handlers; each `add` is its own entry, so one function may be added twice. */
export class HandlerSet<Args extends unknown[]> {
  private readonly entries = new Set<{ handler: (...args: Args) => void }>()

  constructor(private readonly onError: BrokerErrorHandler) {}

  get size(): number {
    return this.entries.size
  }

  add(handler: (...args: Args) => void): Unsubscribe {
    const entry = { handler }
    this.entries.add(entry)
    return () => {
      this.entries.delete(entry)
    }
  }

  emit(context: string, ...args: Args): void {
    // A copy, and a membership check, because a handler may add or remove handlers while we run.
    for (const entry of [...this.entries]) {
      if (!this.entries.has(entry)) continue
      try {
        entry.handler(...args)
      } catch (error) {
        // One faulty handler must not starve the others, nor unwind into the connection's parser.
        this.onError(error, context)
      }
    }
  }

  clear(): void {
    this.entries.clear()
  }
}

export interface ChannelHooks {
  /** The first subscription to a channel opened: start listening. */
  first(channel: string): void
  /** The last subscription to a channel closed: stop listening. */
  last(channel: string): void
}

/** Channel → handlers, calling `hooks` on the 0→1 and 1→0 transitions of each channel's count. */
export class ChannelSubscriptions {
  private readonly channels = new Map<string, HandlerSet<[string]>>()

  constructor(
    private readonly hooks: ChannelHooks,
    private readonly onError: BrokerErrorHandler,
  ) {}

  /** How many channels have at least one subscription. */
  get channelCount(): number {
    return this.channels.size
  }

  add(channel: string, handler: (payload: string) => void): Unsubscribe {
    let handlers = this.channels.get(channel)
    if (!handlers) {
      handlers = new HandlerSet(this.onError)
      this.channels.set(channel, handlers)
      this.hooks.first(channel)
    }
    const remove = handlers.add(handler)
    return () => {
      remove()
      // The identity check makes a repeated call harmless: after this channel's 1→0 (or clear())
      // the set is gone or replaced, so the hook cannot fire twice.
      if (handlers.size === 0 && this.channels.get(channel) === handlers) {
        this.channels.delete(channel)
        this.hooks.last(channel)
      }
    }
  }

  deliver(channel: string, payload: string): void {
    this.channels.get(channel)?.emit(`handler of channel ${channel}`, payload)
  }

  /** Drops every subscription without calling the hooks (the broker is closing). */
  clear(): void {
    for (const handlers of this.channels.values()) handlers.clear()
    this.channels.clear()
  }
}
