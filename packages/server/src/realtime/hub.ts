/**
 * The local side of fan-out: which of this node's sockets listen on which broker channel.
 * The broker is subscribed to a channel while at least one local socket needs it, so a node only
 * receives what its sockets need. Each payload arrives serialised once and goes to every subscribed
 * socket as one prebuilt frame; only the rare membership events are parsed, so sockets can follow
 * them.
 */
import type { Broker } from './broker.js'
import { conversationOfChannel } from './channels.js'
import { textFrame } from './frame.js'

export interface ControlEvent {
  event: string
  conversationId?: string
  data: Record<string, any>
}

/** One payload on its way to the subscribers of a channel: everything about it is worked out once. */
export class Broadcast {
  private bytes: Buffer | null = null

  constructor(
    readonly payload: string,
    /** The conversation of a conversation channel; '' on user and tenant channels. */
    readonly conversationId: string,
    /** Set for membership events and typing. */
    readonly control: ControlEvent | null,
    /** The message's seq, for message.created payloads. */
    readonly seq: number | undefined,
  ) {}

  /** The WebSocket frame, built for the first socket that is written to and reused by the rest. */
  get frame(): Buffer {
    return (this.bytes ??= textFrame(this.payload))
  }
}

export interface Subscriber {
  /** The channels this subscriber is on (owned by the hub). */
  readonly channels: Set<string>
  receive(broadcast: Broadcast): void
}

const MESSAGE_CREATED = '{"type":"event","event":"message.created"'
// The message's own seq is the first "seq" in the frame: the data object starts with id,
// conversationId, seq.
const SEQ = /"seq":(\d+)/

// Events that change who listens where, and typing (which must not echo to its sender).
const CONTROL = /^\{"type":"event","event":"(conversation\.created|conversation\.deleted|member\.added|member\.removed|typing)"/

export class Hub {
  private readonly listeners = new Map<string, { subscribers: Set<Subscriber>; unsubscribe: () => void }>()

  constructor(private readonly broker: Broker) {}

  join(subscriber: Subscriber, channel: string): void {
    if (subscriber.channels.has(channel)) return
    subscriber.channels.add(channel)
    let entry = this.listeners.get(channel)
    if (!entry) {
      const unsubscribe = this.broker.subscribe(channel, (payload) => this.deliver(channel, payload))
      entry = { subscribers: new Set(), unsubscribe }
      this.listeners.set(channel, entry)
    }
    entry.subscribers.add(subscriber)
  }

  leave(subscriber: Subscriber, channel: string): void {
    if (!subscriber.channels.delete(channel)) return
    const entry = this.listeners.get(channel)
    if (!entry) return
    entry.subscribers.delete(subscriber)
    if (entry.subscribers.size === 0) {
      this.listeners.delete(channel)
      entry.unsubscribe()
    }
  }

  leaveAll(subscriber: Subscriber): void {
    for (const channel of [...subscriber.channels]) this.leave(subscriber, channel)
  }

  publish(channel: string, payload: string): void {
    this.broker.publish(channel, payload)
  }

  private deliver(channel: string, payload: string): void {
    const entry = this.listeners.get(channel)
    if (!entry) return
    const control = CONTROL.test(payload) ? (JSON.parse(payload) as ControlEvent) : null
    const seq = payload.startsWith(MESSAGE_CREATED) ? Number(SEQ.exec(payload)?.[1]) : undefined
    const broadcast = new Broadcast(payload, conversationOfChannel(channel), control, seq)
    // A copy: receiving may make a subscriber leave this very channel.
    for (const subscriber of [...entry.subscribers]) subscriber.receive(broadcast)
  }
}
