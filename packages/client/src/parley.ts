/**
 * `Parley`: the client for one signed-in user or visitor. REST calls go through `request` (token
 * attached, renewed once on a 401 that a new token can cure); realtime goes through a Connection
 * (the socket's state machine) whose events pass the Timeline (exactly once, in order) on their
 * way to listeners.
 */
import { ConnectionError, type ParleyError, ServerError, errorFromFrame } from '@parley/protocol/errors'
import type { ServerFrame } from '@parley/protocol/realtime'
import { Connection, backoffDelay } from './connection.js'
import { Emitter } from './emitter.js'
import { type HttpOptions, asParleyError, call, isRenewable, queryString } from './http.js'
import { randomId } from './random.js'
import { Timeline } from './timeline.js'
import { TokenSource } from './tokens.js'
import type {
  ConnectionState,
  Conversation,
  ConversationSummary,
  EventName,
  History,
  Identity,
  Message,
  NewConversation,
  NewMessage,
  Page,
  ParleyEvent,
  ParleyOptions,
  Unread,
} from './types.js'

/** A REST send is tried this many times in all when the network or the server fails (safe: it carries a clientMessageId). */
const SEND_ATTEMPTS = 3

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/')

/**
 * The Parley client for browsers and Node.
 *
 * @example
 * const parley = new Parley({
 *   apiUrl: 'https://chat.example.com',
 *   tokenProvider: () => fetch('/parley-session', { method: 'POST' }).then((res) => res.json()),
 * })
 * parley.on('message.created', ({ data }) => console.log(`${data.senderId}: ${data.text}`))
 * await parley.connect()
 * await parley.messages.send(conversationId, { text: 'Hello!' })
 */
export class Parley {
  readonly conversations: {
    /** `POST /v1/conversations`: you are added as a member; a direct pair that exists is returned as it is. */
    create(input: NewConversation): Promise<Conversation>
    /** Your conversations, most recently active first, each with `lastMessage`, `lastSeq` and `unreadCount`. */
    list(query?: { limit?: number; cursor?: string }): Promise<Page<ConversationSummary>>
    /** One conversation, with its `members`. */
    get(id: string): Promise<Conversation>
    /** Moves your read position forward to `seq` (never back). */
    markRead(id: string, seq: number): Promise<{ conversationId: string; userId: string; lastReadSeq: number; unreadCount: number }>
  }

  readonly messages: {
    /** Sends over the socket when it is open (REST otherwise), always with a `clientMessageId`: a retry never duplicates. */
    send(conversationId: string, input: NewMessage): Promise<Message>
    /** History in ascending `seq`: the latest page, or the page `before` or `after` a seq. */
    list(conversationId: string, query?: { before?: number; after?: number; limit?: number }): Promise<History>
    /** Changes the text of one of your messages. */
    edit(conversationId: string, messageId: string, input: { text: string }): Promise<Message>
    /** Deletes one of your messages (it stays in history with empty text and `deletedAt` set). */
    delete(conversationId: string, messageId: string): Promise<void>
  }

  private readonly emitter = new Emitter()
  private readonly apiUrl: string
  private readonly http: HttpOptions
  private readonly tokens: TokenSource
  private readonly timeline: Timeline
  private readonly connection: Connection
  /** Sends awaiting their `ack`, by ref: each settles with the message, an error, or null (send it over REST). */
  private readonly acks = new Map<string, (answer: Message | ParleyError | null) => void>()

  constructor(options: ParleyOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '').replace(/\/v1$/, '')
    this.http = { fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)), timeoutMs: options.timeoutMs ?? 15_000 }
    this.tokens = new TokenSource(
      { ...options, apiUrl: this.apiUrl, http: this.http },
      (token) => this.connection.send({ type: 'token.refresh', token }),
      (error) => this.emitter.emit('error', asParleyError(error)),
    )
    this.timeline = new Timeline(
      (event) => this.emitter.emit(event.event, event),
      (conversationId, after) => this.request('GET', `/v1/conversations/${path(conversationId)}/messages${queryString({ after, limit: 200 })}`),
      (error) => this.emitter.emit('error', asParleyError(error)),
    )
    this.connection = new Connection(`${this.apiUrl.replace(/^http/, 'ws')}/v1/realtime`, options.WebSocket ?? globalThis.WebSocket, {
      token: () => this.tokens.get(),
      renew: (refused) => this.tokens.renew(refused),
      ready: () => {
        const positions = this.timeline.positions()
        if (Object.keys(positions).length > 0) this.connection.send({ type: 'resume', positions })
      },
      frame: (frame) => this.onFrame(frame),
      state: (state) => {
        if (state === 'closed') this.tokens.keepFresh(false)
        this.emitter.emit('state', state)
      },
      dropped: () => {
        for (const settle of [...this.acks.values()]) settle(null)
      },
      failed: (error) => this.emitter.emit('error', error),
    })

    this.conversations = {
      create: async (input) => this.followed(await this.request<Conversation>('POST', '/v1/conversations', input)),
      list: async ({ limit, cursor } = {}) => {
        const page = await this.request<Page<ConversationSummary>>('GET', `/v1/conversations${queryString({ limit, cursor })}`)
        for (const conversation of page.data) this.followed(conversation)
        return page
      },
      get: async (id) => this.followed(await this.request<Conversation>('GET', `/v1/conversations/${path(id)}`)),
      markRead: (id, seq) => this.request('POST', `/v1/conversations/${path(id)}/read`, { seq }),
    }
    this.messages = {
      send: (conversationId, input) => this.send(conversationId, input),
      list: async (conversationId, { before, after, limit } = {}) => {
        const page = await this.request<History>('GET', `/v1/conversations/${path(conversationId)}/messages${queryString({ before, after, limit })}`)
        // The latest page: from here on, listeners get what comes after it.
        if (before === undefined && after === undefined) this.timeline.follow(conversationId, page.data.at(-1)?.seq ?? 0)
        return page
      },
      edit: (conversationId, messageId, { text }) => this.request('PATCH', `/v1/conversations/${path(conversationId, 'messages', messageId)}`, { text }),
      delete: (conversationId, messageId) => this.request('DELETE', `/v1/conversations/${path(conversationId, 'messages', messageId)}`),
    }
  }

  /** `'connecting' | 'open' | 'reconnecting' | 'closed'`. */
  get state(): ConnectionState {
    return this.connection.state
  }

  /**
   * Opens the realtime connection; resolves when the server says `ready`. Rejects with a
   * ParleyError if the first try fails (AuthenticationError for a refused token, ConnectionError
   * when Parley cannot be reached); once open, the client reconnects by itself until `close()`.
   */
  connect(): Promise<void> {
    this.tokens.keepFresh(true)
    return this.connection.open()
  }

  /** Closes the connection and stops reconnecting and renewing tokens. `connect()` again resumes where it stopped. */
  close(): Promise<void> {
    this.tokens.keepFresh(false)
    return this.connection.close()
  }

  /**
   * Listens to an event of API.md §6 (`message.created`, `typing`, …), to `'state'` (the
   * connection's state as a string) or to `'error'` (a ParleyError: the client stopped, or a
   * background task failed). Returns a function that removes the listener.
   *
   * @example
   * const stop = parley.on('typing', ({ conversationId, data }) => showTyping(conversationId, data.userId, data.state))
   */
  on(name: 'state', listener: (state: ConnectionState) => void): () => void
  on(name: 'error', listener: (error: ParleyError) => void): () => void
  on<T = any>(name: EventName, listener: (event: ParleyEvent<T>) => void): () => void
  on(name: string, listener: (value: any) => void): () => void {
    return this.emitter.on(name, listener)
  }

  /** Removes a listener added with `on`. */
  off(name: 'state' | 'error' | EventName, listener: (value: any) => void): void {
    this.emitter.off(name, listener)
  }

  /** `GET /v1/identity/me`: the user (or visitor), its tenant, and when the token expires. */
  me(): Promise<Identity> {
    return this.request('GET', '/v1/identity/me')
  }

  /** `GET /v1/me/unread`: unread counts, in total and per conversation. */
  unread(): Promise<Unread> {
    return this.request('GET', '/v1/me/unread')
  }

  /** Tells the other members you are typing (`'start'`) or stopped (`'stop'`). Dropped while the socket is not open. */
  typing(conversationId: string, state: 'start' | 'stop'): void {
    this.connection.send({ type: 'typing', conversationId, state })
  }

  private followed<C extends ConversationSummary>(conversation: C): C {
    this.timeline.follow(conversation.id, conversation.lastSeq)
    return conversation
  }

  private onFrame(frame: ServerFrame): void {
    if (frame.type === 'event') this.timeline.receive({ event: frame.event, conversationId: frame.conversationId, data: frame.data })
    else if (frame.type === 'ack') this.acks.get(frame.ref)?.(frame.message)
    else if (frame.type === 'resync') this.timeline.resync(frame.conversationId)
    else if (frame.type === 'token.expiring') this.tokens.expiring()
    else if (frame.type === 'error') {
      const error = errorFromFrame(frame.code, frame.message)
      const settle = frame.ref === undefined ? undefined : this.acks.get(frame.ref)
      if (settle) settle(error)
      else this.emitter.emit('error', error)
    }
  }

  private async send(conversationId: string, { text, metadata, clientMessageId = randomId(24) }: NewMessage): Promise<Message> {
    // The socket's message.send carries no metadata: such messages go over REST.
    if (metadata === undefined) {
      const ref = randomId(16)
      const answer = await new Promise<Message | ParleyError | null>((resolve) => {
        const settle = (result: Message | ParleyError | null) => {
          clearTimeout(timer)
          this.acks.delete(ref)
          resolve(result)
        }
        const timer = setTimeout(() => settle(null), this.http.timeoutMs)
        this.acks.set(ref, settle)
        if (!this.connection.send({ type: 'message.send', ref, conversationId, text, clientMessageId })) settle(null)
      })
      if (answer && !(answer instanceof Error)) return answer
      // A server failure is tried again over REST; any other refusal stands.
      if (answer && !(answer instanceof ServerError)) throw answer
    }
    const body = { text, clientMessageId, ...(metadata !== undefined && { metadata }) }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request<Message>('POST', `/v1/conversations/${path(conversationId)}/messages`, body)
      } catch (error) {
        if (!(error instanceof ConnectionError || error instanceof ServerError) || attempt >= SEND_ATTEMPTS) throw error
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt - 1)))
      }
    }
  }

  /** One REST call with the session token; a 401 that a new token can cure is retried once with one. */
  private async request<T>(method: string, pathAndQuery: string, body?: unknown): Promise<T> {
    const send = (token: string) => call<T>(this.http, this.apiUrl + pathAndQuery, { method, headers: { authorization: `Bearer ${token}` }, body })
    const token = await this.tokens.get()
    try {
      return await send(token)
    } catch (error) {
      if (!isRenewable(error)) throw error
      return send(await this.tokens.renew(token))
    }
  }
}
