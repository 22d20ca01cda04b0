/**
 * The event store: what the client has delivered per conversation, so that each `message.*` event
 * reaches listeners once and `message.created` in `seq` order, whatever the socket does (a replay
 * after `resume` overlapping what arrived live, a late frame from another node, a reconnect).
 *
 * A conversation's position is the highest `seq` delivered with nothing missing below it (back to
 * where the client started following it). A message above position + 1 waits for the ones before
 * it; if they do not come within GAP_WAIT_MS (or the server says `resync`), the gap is fetched over
 * REST and delivered as `message.created` events. The positions are what `resume` sends.
 */
import type { History, Message, ParleyEvent } from './types.js'

/** How long a message waits for a missing earlier one before the gap is fetched over REST. */
const GAP_WAIT_MS = 1500
/** Most resume positions a frame may carry (the server's limit). */
const MAX_POSITIONS = 1000
/** Edits and deletions remembered per conversation to drop repeats (a replay after resume). */
const MAX_CHANGES = 500

interface Track {
  position: number
  /** message.created events above position + 1, by seq. */
  waiting: Map<number, ParleyEvent<Message>>
  /** Edits and deletions of messages still waiting, delivered right after their message. */
  changesOf: Map<number, ParleyEvent<Message>[]>
  /** Keys of edits and deletions delivered already. */
  changes: Set<string>
  filling: boolean
  /** A resync asked for everything above the position, not just the gap below what waits. */
  toEnd: boolean
  gapTimer?: ReturnType<typeof setTimeout>
}

export class Timeline {
  /** In order of last activity, so the positions resumed first are the most recent. */
  private readonly tracks = new Map<string, Track>()

  constructor(
    private readonly deliver: (event: ParleyEvent) => void,
    /** A page of history above `afterSeq` (`GET …/messages?after=`). */
    private readonly fetchAfter: (conversationId: string, afterSeq: number) => Promise<History>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** What `resume` sends: the position of each conversation followed, most recent first. */
  positions(): Record<string, number> {
    const positions: Record<string, number> = {}
    const recent = [...this.tracks].reverse().slice(0, MAX_POSITIONS)
    for (const [id, track] of recent) positions[id] = track.position
    return positions
  }

  /**
   * Starts following a conversation from `seq` (its `lastSeq`, or the newest message of a page the
   * app fetched): listeners then get every message after it. No effect on one followed already.
   */
  follow(conversationId: string, seq: number): void {
    if (!this.tracks.has(conversationId)) this.tracks.set(conversationId, { position: seq, waiting: new Map(), changesOf: new Map(), changes: new Set(), filling: false, toEnd: false })
  }

  /** An event from the socket. */
  receive(event: ParleyEvent): void {
    const id = event.conversationId
    const { data } = event
    if (id && event.event === 'message.created') return this.created(id, event)
    if (id && (event.event === 'message.updated' || event.event === 'message.deleted')) return this.changed(id, event)
    if (id && event.event === 'conversation.created' && typeof data?.lastSeq === 'number') this.follow(id, data.lastSeq)
    this.deliver(event)
    if (id && event.event === 'conversation.deleted') this.forget(id)
  }

  /** The server could not replay this conversation (`resync`): fetch what is missing over REST. */
  resync(conversationId: string): void {
    const track = this.tracks.get(conversationId)
    if (track) void this.fill(conversationId, track, true)
  }

  private created(id: string, event: ParleyEvent<Message>): void {
    const { seq } = event.data
    let track = this.tracks.get(id)
    if (!track) {
      // The first message heard here: follow the conversation from it.
      this.follow(id, seq - 1)
      track = this.tracks.get(id)!
    }
    if (seq <= track.position || track.waiting.has(seq)) return
    if (seq > track.position + 1) {
      track.waiting.set(seq, event)
      return this.awaitGap(id, track)
    }
    this.advance(id, track, event)
    for (let next = track.waiting.get(track.position + 1); next; next = track.waiting.get(track.position + 1)) this.advance(id, track, next)
    for (const key of track.waiting.keys()) if (key <= track.position) track.waiting.delete(key)
    if (track.waiting.size === 0) {
      clearTimeout(track.gapTimer)
      track.gapTimer = undefined
    }
  }

  /** Delivers the next message of a conversation, then the edits that waited for it. */
  private advance(id: string, track: Track, event: ParleyEvent<Message>): void {
    const { seq } = event.data
    track.position = seq
    track.waiting.delete(seq)
    // Most recently active last: positions() resumes the newest first.
    this.tracks.delete(id)
    this.tracks.set(id, track)
    this.deliver(event)
    const changes = track.changesOf.get(seq)
    if (changes) {
      track.changesOf.delete(seq)
      for (const change of changes) this.changed(id, change)
    }
  }

  private changed(id: string, event: ParleyEvent<Message>): void {
    const { data } = event
    const track = this.tracks.get(id)
    if (!track) return this.deliver(event)
    if (data.seq > track.position) {
      // An edit of a message not delivered yet goes out right after it.
      const list = track.changesOf.get(data.seq) ?? []
      list.push(event)
      track.changesOf.set(data.seq, list)
      return this.awaitGap(id, track)
    }
    const key = `${data.id}|${data.editedAt}|${data.deletedAt}`
    if (track.changes.has(key)) return
    track.changes.add(key)
    if (track.changes.size > MAX_CHANGES) track.changes.delete(track.changes.values().next().value!)
    this.deliver(event)
  }

  /** Gives the messages missing below a waiting one GAP_WAIT_MS to arrive, then fetches them. */
  private awaitGap(id: string, track: Track): void {
    if (track.gapTimer || track.filling) return
    track.gapTimer = setTimeout(() => {
      track.gapTimer = undefined
      if (track.waiting.size > 0 || track.changesOf.size > 0) void this.fill(id, track, false)
    }, GAP_WAIT_MS)
  }

  /**
   * Fetches the messages above the position over REST, delivering each as `message.created`: all
   * of them (`toEnd`, after a resync), or until what was waiting could follow.
   */
  private async fill(id: string, track: Track, toEnd: boolean): Promise<void> {
    track.toEnd ||= toEnd
    if (track.filling) return
    track.filling = true
    clearTimeout(track.gapTimer)
    track.gapTimer = undefined
    try {
      for (;;) {
        const page = await this.fetchAfter(id, track.position)
        for (const message of page.data) this.created(id, { event: 'message.created', conversationId: id, data: message })
        const closed = track.waiting.size === 0 && track.changesOf.size === 0
        if (!page.hasMore || page.data.length === 0 || this.tracks.get(id) !== track || (closed && !track.toEnd)) break
      }
      track.filling = false
      track.toEnd = false
    } catch (error) {
      // Left for the next event or resume to try again (not a loop of failing requests while offline).
      track.filling = false
      return this.onError(error)
    }
    if (track.waiting.size > 0 || track.changesOf.size > 0) this.awaitGap(id, track)
  }

  private forget(id: string): void {
    const track = this.tracks.get(id)
    if (!track) return
    clearTimeout(track.gapTimer)
    this.tracks.delete(id)
  }
}
