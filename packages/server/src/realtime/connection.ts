/**
 * One authenticated socket: its subscriptions, the frames it sends us, and what we send it.
 * Kept small on purpose (memory per idle socket is a target): a few fields, no timers of its
 * own — the gateway's sweep drives heartbeats and token expiry for every connection at once.
 */
import type { WebSocket } from 'ws'
import { ApiError } from '../errors.js'
import { newId } from '../ids.js'
import { conversationChannel, tenantChannel, userChannel } from './channels.js'
import type { ControlEvent, Hub, Subscriber } from './hub.js'
import type { SocketCaller } from './identity.js'
import { CLOSE, type ClientFrame, frames } from './protocol.js'

/** What a connection needs from the rest of Parley (provided by the gateway). */
export interface ConnectionContext {
  hub: Hub
  reauthenticate(credential: string): Promise<SocketCaller>
  conversationsOf(caller: SocketCaller & { kind: 'session' }): Promise<string[]>
  send(caller: SocketCaller, frame: Extract<ClientFrame, { type: 'message.send' }>): Promise<unknown>
  replay(caller: SocketCaller, conversationId: string, afterSeq: number): Promise<{ frames: string[]; lastSeq: number } | 'resync'>
  maxBufferedBytes: number
}

const TYPING_MIN_INTERVAL_MS = 1000

export class Connection implements Subscriber {
  readonly id = newId('connection')
  readonly channels = new Set<string>()
  alive = true
  missedPongs = 0
  expiryWarned = false
  /** Conversations being replayed: live frames wait here so nothing is sent twice or out of order. */
  private replaying: Map<string, string[]> | null = null
  private lastTyping = 0

  constructor(
    readonly socket: WebSocket,
    public caller: SocketCaller,
    public credential: string,
    private readonly context: ConnectionContext,
  ) {}

  get userId(): string | null {
    return this.caller.kind === 'session' ? this.caller.userId : null
  }

  /** Epoch seconds, or null for keys without expiry. */
  get expiresAt(): number | null {
    if (this.caller.kind === 'session') return this.caller.expiresAt
    const expiry = this.caller.key?.expiresAt
    return expiry ? Math.floor(Date.parse(expiry) / 1000) : null
  }

  /** Subscribes to everything this caller may hear, then says ready. */
  async start(): Promise<void> {
    const { caller } = this
    const { hub } = this.context
    if (caller.kind === 'secret') {
      hub.join(this, tenantChannel(caller.tenant.id, caller.environment))
    } else {
      hub.join(this, userChannel(caller.tenant.id, caller.environment, caller.userId))
      for (const id of await this.context.conversationsOf(caller)) hub.join(this, conversationChannel(caller.tenant.id, caller.environment, id))
    }
    const expiresAt = this.expiresAt
    const user = caller.kind === 'session' ? { id: caller.userId, kind: caller.userKind } : null
    this.write(frames.ready(this.id, user, expiresAt === null ? null : new Date(expiresAt * 1000).toISOString()))
  }

  receive(channel: string, payload: string, control: ControlEvent | null): void {
    if (control) {
      if (control.event === 'typing' && control.data.userId === this.userId) return
      this.follow(control)
    }
    const queue = this.replaying?.get(conversationIdOf(channel))
    if (queue) queue.push(payload)
    else this.write(payload)
  }

  async handle(frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case 'ping':
        return this.write(frames.pong(frame.id))
      case 'auth':
        return this.write(frames.error('bad_frame', 'already authenticated'))
      case 'token.refresh':
        return this.refresh(frame.token)
      case 'typing':
        return this.typing(frame.conversationId, frame.state)
      case 'resume':
        return this.resume(frame.positions)
      case 'message.send':
        try {
          const message = await this.context.send(this.caller, frame)
          return this.write(frames.ack(frame.ref, message))
        } catch (error) {
          if (!(error instanceof ApiError)) throw error
          return this.write(frames.error(error.code, error.message, frame.ref))
        }
    }
  }

  /** Checks the credential again (after a revocation or suspension) and closes if it fails. */
  async revalidate(): Promise<void> {
    try {
      this.caller = await this.context.reauthenticate(this.credential)
    } catch (error) {
      this.closeFor(error)
    }
  }

  closeFor(error: unknown): void {
    this.close(closeCodeFor(error), error instanceof ApiError ? error.code : 'unauthorized')
  }

  close(code: number, reason: string): void {
    this.context.hub.leaveAll(this)
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(code, reason)
  }

  write(payload: string): void {
    if (this.socket.readyState !== this.socket.OPEN) return
    // A reader that cannot keep up is dropped rather than allowed to grow our memory.
    if (this.socket.bufferedAmount > this.context.maxBufferedBytes) {
      this.context.hub.leaveAll(this)
      this.socket.terminate()
      return
    }
    this.socket.send(payload)
  }

  /** Joins or leaves conversation channels as membership changes reach this socket. */
  private follow(control: ControlEvent): void {
    const { caller } = this
    if (caller.kind !== 'session') return
    const id = control.conversationId ?? (control.data.id as string | undefined)
    if (id === undefined) return
    const channel = conversationChannel(caller.tenant.id, caller.environment, id)
    const members = control.data.members as { userId: string }[] | undefined
    if (control.event === 'conversation.created' && members?.some((m) => m.userId === caller.userId)) this.context.hub.join(this, channel)
    if (control.event === 'member.added' && control.data.userId === caller.userId) this.context.hub.join(this, channel)
    // Leaving happens after this event is written: the removed member still hears of its removal.
    if ((control.event === 'member.removed' && control.data.userId === caller.userId) || control.event === 'conversation.deleted') {
      queueMicrotask(() => this.context.hub.leave(this, channel))
    }
  }

  private async refresh(token: string): Promise<void> {
    const current = this.caller
    let next: SocketCaller
    try {
      next = await this.context.reauthenticate(token)
    } catch (error) {
      return this.write(frames.error(error instanceof ApiError ? error.code : 'invalid_token', 'token.refresh failed'))
    }
    const same =
      next.kind === 'session' &&
      current.kind === 'session' &&
      next.tenant.id === current.tenant.id &&
      next.environment === current.environment &&
      next.userId === current.userId
    if (!same) return this.write(frames.error('forbidden', 'token.refresh must keep the same user'))
    this.caller = next
    this.credential = token
    this.expiryWarned = false
    const expiresAt = this.expiresAt
    this.write(frames.refreshed(expiresAt === null ? null : new Date(expiresAt * 1000).toISOString()))
  }

  private typing(conversationId: string, state: 'start' | 'stop'): void {
    const { caller } = this
    if (caller.kind !== 'session') return this.write(frames.error('forbidden', 'only users type'))
    const channel = conversationChannel(caller.tenant.id, caller.environment, conversationId)
    if (!this.channels.has(channel)) return this.write(frames.error('forbidden', 'not a member of this conversation'))
    const now = Date.now()
    if (state === 'start' && now - this.lastTyping < TYPING_MIN_INTERVAL_MS) return // throttled: relayed at most once a second
    this.lastTyping = state === 'start' ? now : 0
    this.context.hub.publish(channel, frames.event('typing', conversationId, { userId: caller.userId, state }))
  }

  /** Replays missed messages per conversation from storage, in seq order, then says resumed. */
  private async resume(positions: Record<string, number>): Promise<void> {
    const { caller } = this
    if (caller.kind !== 'session') return this.write(frames.error('forbidden', 'resume is for user sockets'))
    const wanted = Object.entries(positions).filter(([id]) =>
      this.channels.has(conversationChannel(caller.tenant.id, caller.environment, id)),
    )
    this.replaying = new Map(wanted.map(([id]) => [id, []]))
    try {
      for (const [id, afterSeq] of wanted) {
        const result = await this.context.replay(caller, id, afterSeq)
        const queued = this.replaying.get(id) ?? []
        this.replaying.delete(id)
        if (result === 'resync') {
          this.write(frames.resync(id))
          continue
        }
        for (const frame of result.frames) this.write(frame)
        // Live frames that arrived meanwhile: anything the replay already covered is dropped.
        for (const payload of queued) if (!isMessageAtOrBelow(payload, result.lastSeq)) this.write(payload)
      }
    } finally {
      this.replaying = null
    }
    this.write(frames.resumed())
  }
}

/** `conv:<tenant>:<env>:<id>`; the id itself may contain colons, the parts before it cannot. */
function conversationIdOf(channel: string): string {
  return channel.startsWith('conv:') ? channel.split(':').slice(3).join(':') : ''
}

function isMessageAtOrBelow(payload: string, seq: number): boolean {
  if (!payload.startsWith('{"type":"event","event":"message.created"')) return false
  const parsed = JSON.parse(payload) as { data: { seq: number } }
  return parsed.data.seq <= seq
}

/** The close code that tells a client what to do about a failed credential. */
export function closeCodeFor(error: unknown): number {
  if (!(error instanceof ApiError)) return CLOSE.unauthorized
  if (error.code === 'token_expired') return CLOSE.tokenExpired
  if (error.code === 'token_revoked' || error.code === 'invalid_api_key') return CLOSE.tokenRevoked
  if (error.status === 403) return CLOSE.forbidden
  return CLOSE.unauthorized
}
