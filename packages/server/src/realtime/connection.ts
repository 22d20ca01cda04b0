/**
 * One authenticated socket: its subscriptions, the frames it sends us, and what we send it.
 * Kept small on purpose (memory per idle socket is a target): a few fields, no timers of its
 * own — the gateway's sweep drives heartbeats, token expiry and subscription re-checks for every
 * connection at once. The credential's scopes decide which frames it may send and which events
 * it hears (socket-scopes.ts).
 */
import type { WebSocket } from 'ws'
import { hasScope } from '../auth/scopes.js'
import { ApiError } from '../core/errors.js'
import { newId } from '../core/ids.js'
import { conversationChannel, tenantChannel, userChannel } from './channels.js'
import { writeFrame } from './frame.js'
import type { Broadcast, ControlEvent, Hub, Subscriber } from './hub.js'
import type { SocketCaller } from './socket-policy.js'
import { CLOSE, type ClientFrame, frames } from './protocol.js'
import { hiddenEventsFor } from './socket-scopes.js'
import { type SubscriptionRecheck, recheckSlotOf } from './subscription-recheck.js'

/** What a connection needs from the rest of Parley (provided by the gateway). */
export interface ConnectionContext {
  hub: Hub
  reauthenticate(credential: string): Promise<SocketCaller>
  /** The conversations the user is a member of, read from storage. */
  conversationsOf(caller: SocketCaller & { kind: 'session' }): Promise<string[]>
  send(caller: SocketCaller, frame: Extract<ClientFrame, { type: 'message.send' }>): Promise<unknown>
  /** What the caller missed in one conversation; throws 403/404 if it is not a member (in storage). */
  replay(caller: SocketCaller, conversationId: string, afterSeq: number): Promise<Replay | 'resync'>
  subscriptions: SubscriptionRecheck
  maxBufferedBytes: number
}

/** What a resume sends for one conversation, in this order. */
export interface Replay {
  /** message.updated / message.deleted for messages at or below the position, changed since. */
  changes: string[]
  /** message.created for every message above the position, in seq order. */
  created: { seq: number; frame: string }[]
}

const TYPING_MIN_INTERVAL_MS = 1000
/**
 * After `ready`, live events wait this long (or until the client's first frame) so that a client
 * that resumes gets its replay before anything newer: one ordered stream, each seq once.
 */
const RESUME_WINDOW_MS = 250
const MAX_HELD = 1000

export class Connection implements Subscriber {
  readonly id = newId('connection')
  readonly channels = new Set<string>()
  /** Which second of the re-check period checks this socket: the same for every socket of a user. */
  readonly recheckSlot: number
  /**
   * Counts changes to the conversation channels: a re-check whose storage read started before a
   * change must not undo it (the read may predate the membership change that caused it).
   */
  membershipChanges = 0
  alive = true
  missedPongs = 0
  /** Which of the gateway's sweeps (0–29) pings this socket. */
  heartbeatSlot = 0
  expiryWarned = false
  /** Conversations being replayed: live frames wait here so nothing is sent twice or out of order. */
  private replaying: Map<string, Broadcast[]> | null = null
  /** Live events held during the resume window; null once released. */
  private held: Broadcast[] | null = null
  /**
   * The message.created seqs this socket was sent, per conversation with traffic: replays and
   * late broker deliveries skip them, so each message reaches the socket exactly once.
   */
  private sent: Map<string, { top: number; beforeResume: Set<number> | null }> | null = null
  private lastTyping = 0
  private current!: SocketCaller
  /** Bits of the events this credential may not see (socket-scopes.ts); 0 for full read rights. */
  private hidden = 0
  /** Worked out once per credential: the gateway's sweep reads it every second. */
  private expiry: number | null = null

  constructor(
    readonly socket: WebSocket,
    caller: SocketCaller,
    public credential: string,
    private readonly context: ConnectionContext,
  ) {
    this.adopt(caller)
    this.recheckSlot = caller.kind === 'session' ? recheckSlotOf(caller.tenant.id, caller.userId) : 0
  }

  get caller(): SocketCaller {
    return this.current
  }

  /** A new credential of the same user or key (refresh, re-validation) may carry other scopes. */
  private adopt(caller: SocketCaller): void {
    this.current = caller
    this.hidden = hiddenEventsFor(caller)
    this.expiry = expiryOf(caller)
  }

  private may(scope: 'messages:read' | 'messages:write'): boolean {
    return hasScope(this.current.scopes, scope)
  }

  /** Epoch seconds, or null for keys without expiry. */
  get expiresAt(): number | null {
    return this.expiry
  }

  get userId(): string | null {
    return this.caller.kind === 'session' ? this.caller.userId : null
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
      // A re-check that read storage before this read must not undo it.
      this.membershipChanges++
    }
    const expiresAt = this.expiresAt
    const user = caller.kind === 'session' ? { id: caller.userId, kind: caller.userKind } : null
    if (caller.kind === 'session') {
      this.held = []
      setTimeout(() => this.release(), RESUME_WINDOW_MS).unref()
    }
    this.write(frames.ready(this.id, user, expiresAt === null ? null : new Date(expiresAt * 1000).toISOString()))
  }

  /** Ends the resume window: held events go out in arrival order. */
  private release(): void {
    const held = this.held
    if (!held) return
    this.held = null
    for (const broadcast of held) this.deliver(broadcast)
  }

  receive(broadcast: Broadcast): void {
    const { control } = broadcast
    if (control) {
      if (control.event === 'typing' && control.data.userId === this.userId) return
      this.follow(control)
    }
    if (this.held) {
      this.held.push(broadcast)
      if (this.held.length >= MAX_HELD) this.release()
      return
    }
    this.deliver(broadcast)
  }

  private deliver(broadcast: Broadcast): void {
    // Checked here, the last step of every path (live, held, queued behind a replay), so scopes
    // changed by token.refresh apply to what was waiting. Membership events were followed already.
    if (this.hidden !== 0 && (this.hidden & broadcast.readBit) !== 0) return
    const { conversationId, seq } = broadcast
    const queue = this.replaying?.get(conversationId)
    if (queue) queue.push(broadcast)
    // Tenant-wide sockets (secret keys) do not resume: nothing to deduplicate.
    else if (seq === undefined || conversationId === '') this.write(broadcast.frame)
    else this.sendMessage(conversationId, seq, broadcast.frame)
  }

  /** Writes a message.created frame (text, or prebuilt bytes) unless this socket already had that seq. */
  private sendMessage(conversationId: string, seq: number, payload: string | Buffer): void {
    this.sent ??= new Map()
    let record = this.sent.get(conversationId)
    if (!record) {
      // Until this conversation is resumed, remember each seq: a resume may ask for older ones.
      record = { top: 0, beforeResume: new Set() }
      this.sent.set(conversationId, record)
    }
    if (record.beforeResume ? record.beforeResume.has(seq) : seq <= record.top) return
    // The race this guards (live frames before the client's resume) is short; past a few dozen
    // messages, a continuous stream is assumed and only the top seq is kept.
    if (record.beforeResume) {
      if (record.beforeResume.size < 64) record.beforeResume.add(seq)
      else record.beforeResume = null
    }
    record.top = Math.max(record.top, seq)
    this.write(payload)
  }

  async handle(frame: ClientFrame): Promise<void> {
    if (frame.type !== 'resume') this.release()
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
        if (!this.may('messages:write')) return this.write(frames.error('insufficient_scope', 'Missing scope messages:write', frame.ref))
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
      this.adopt(await this.context.reauthenticate(this.credential))
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

  /** Sends a frame: text of this socket's own, or the prebuilt bytes of a broadcast. */
  write(payload: string | Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return
    // A reader that cannot keep up is dropped rather than allowed to grow our memory.
    if (this.socket.bufferedAmount > this.context.maxBufferedBytes) {
      this.context.hub.leaveAll(this)
      this.socket.terminate()
      return
    }
    if (typeof payload === 'string') this.socket.send(payload)
    else writeFrame(this.socket, payload)
  }

  /** Joins or leaves conversation channels as membership changes reach this socket. */
  private follow(control: ControlEvent): void {
    const { caller } = this
    if (caller.kind !== 'session') return
    const channel = conversationChannel(caller.tenant.id, caller.environment, control.conversationId)
    const joins =
      (control.event === 'conversation.created' && control.data.members.some((m) => m.userId === caller.userId)) ||
      (control.event === 'member.added' && control.data.userId === caller.userId)
    const leaves = (control.event === 'member.removed' && control.data.userId === caller.userId) || control.event === 'conversation.deleted'
    if (!joins && !leaves) return
    this.membershipChanges++
    if (joins) this.context.hub.join(this, channel)
    // Leaving happens after this event is written: the removed member still hears of its removal.
    else queueMicrotask(() => this.context.hub.leave(this, channel))
  }

  /**
   * Makes the conversation channels match the user's memberships as read from storage, unless
   * they changed since that read began (`changesAtRead`): a lost member.removed stops here, a lost
   * member.added starts here.
   */
  reconcile(conversationIds: readonly string[], changesAtRead: number): void {
    const { caller } = this
    if (caller.kind !== 'session' || this.membershipChanges !== changesAtRead || this.socket.readyState !== this.socket.OPEN) return
    const { hub } = this.context
    const wanted = new Set(conversationIds.map((id) => conversationChannel(caller.tenant.id, caller.environment, id)))
    let changed = false
    for (const channel of this.channels) {
      if (channel.startsWith('conv:') && !wanted.has(channel)) {
        hub.leave(this, channel) // deleting the current entry of a Set does not disturb iteration
        changed = true
      }
    }
    for (const channel of wanted) {
      if (!this.channels.has(channel)) {
        hub.join(this, channel)
        changed = true
      }
    }
    if (changed) this.membershipChanges++
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
    this.adopt(next)
    this.credential = token
    this.expiryWarned = false
    const expiresAt = this.expiresAt
    this.write(frames.refreshed(expiresAt === null ? null : new Date(expiresAt * 1000).toISOString()))
  }

  private typing(conversationId: string, state: 'start' | 'stop'): void {
    const { caller } = this
    if (caller.kind !== 'session') return this.write(frames.error('forbidden', 'only users type'))
    if (!this.may('messages:write')) return this.write(frames.error('insufficient_scope', 'Missing scope messages:write'))
    const channel = conversationChannel(caller.tenant.id, caller.environment, conversationId)
    if (!this.channels.has(channel)) return this.write(frames.error('forbidden', 'not a member of this conversation'))
    const now = Date.now()
    if (state === 'start' && now - this.lastTyping < TYPING_MIN_INTERVAL_MS) return // throttled: relayed at most once a second
    this.lastTyping = state === 'start' ? now : 0
    this.context.hub.publish(channel, { event: 'typing' }, frames.event('typing', conversationId, { userId: caller.userId, state }))
  }

  /**
   * Replays missed messages per conversation, in seq order, then says resumed. Who is a member
   * comes from storage, not from this socket's channels (they follow events, and an event can be
   * lost): the channels are first made to match storage, and each replay checks it again.
   * Positions of conversations the user is not in are ignored.
   */
  private async resume(positions: Record<string, number>): Promise<void> {
    const { caller } = this
    if (caller.kind !== 'session') return this.write(frames.error('forbidden', 'resume is for user sockets'))
    if (!this.may('messages:read')) return this.write(frames.error('insufficient_scope', 'Missing scope messages:read'))
    // Set before the first await: held and live events of these conversations wait behind their replay.
    const replaying = new Map(Object.keys(positions).map((id) => [id, [] as Broadcast[]]))
    this.replaying = replaying
    // Held events of other conversations go out now.
    this.release()
    try {
      const changesAtRead = this.membershipChanges
      this.reconcile(await this.context.conversationsOf(caller), changesAtRead)
      for (const [id, afterSeq] of Object.entries(positions)) {
        if (!this.channels.has(conversationChannel(caller.tenant.id, caller.environment, id))) {
          replaying.delete(id)
          continue
        }
        const result = await this.context.replay(caller, id, afterSeq).catch(notAMember)
        const queued = replaying.get(id) ?? []
        replaying.delete(id)
        if (result === null) continue
        if (result === 'resync') {
          this.write(frames.resync(id))
          continue
        }
        for (const frame of result.changes) this.write(frame)
        for (const { seq, frame } of result.created) this.sendMessage(id, seq, frame)
        // From here the stream of this conversation is continuous: only seqs above the top are new.
        const record = this.sent?.get(id)
        if (record) {
          record.top = Math.max(record.top, afterSeq)
          record.beforeResume = null
        } else {
          ;(this.sent ??= new Map()).set(id, { top: afterSeq, beforeResume: null })
        }
        // Live frames that arrived meanwhile, in order; anything the replay covered is skipped.
        for (const broadcast of queued) this.deliver(broadcast)
      }
    } finally {
      // A later resume may have started meanwhile: its queues are its own.
      if (this.replaying === replaying) this.replaying = null
    }
    this.write(frames.resumed())
  }
}

/** Epoch seconds, or null for keys without expiry. */
function expiryOf(caller: SocketCaller): number | null {
  if (caller.kind === 'session') return caller.expiresAt
  const expiry = caller.key?.expiresAt
  return expiry ? Math.floor(Date.parse(expiry) / 1000) : null
}

/** A replay refused because storage says the caller is not (or no longer) in the conversation. */
function notAMember(error: unknown): null {
  if (error instanceof ApiError && (error.status === 403 || error.status === 404)) return null
  throw error
}

/** The close code that tells a client what to do about a refused credential or socket. */
export function closeCodeFor(error: unknown): number {
  if (!(error instanceof ApiError)) return CLOSE.unauthorized
  // The address (failed-auth throttle) or the holder (socket caps) is over a limit.
  if (error.code === 'rate_limited') return CLOSE.rateLimited
  if (error.code === 'token_expired') return CLOSE.tokenExpired
  if (error.code === 'token_revoked' || error.code === 'invalid_api_key') return CLOSE.tokenRevoked
  if (error.status === 403) return CLOSE.forbidden
  return CLOSE.unauthorized
}
