/** The shapes the client reads and writes (API.md §4–§6): the API's JSON, typed. */
import type { components, operations } from '@parley/protocol/api'
import type { EventName } from '@parley/protocol/realtime'

type Schemas = components['schemas']
type Answer<O extends keyof operations> = operations[O]['responses'] extends { 200: { content: { 'application/json': infer A } } } ? A : never
type Body<O extends keyof operations> = operations[O]['requestBody'] extends { content: { 'application/json': infer B } } ? B : never

export type { EventName }

/** What a `tokenProvider` returns: your session route's answer fits as it is. */
export interface TokenGrant {
  token: string
  /** When the token expires (ISO 8601, epoch milliseconds or a Date); read from the token itself when absent. */
  expiresAt?: string | number | Date
}

/** A WebSocket class: the browser's, or `ws` on Node 20. */
export type WebSocketClass = new (url: string) => WebSocketLike

/** The part of the WebSocket interface the client uses (browsers and `ws` both have it). */
export interface WebSocketLike {
  readonly readyState: number
  onopen: ((event: any) => void) | null
  // Handler parameters are `any`: the DOM's and ws's event types differ, and both carry what is read
  // here (`data` of a message, `code` and `reason` of a close).
  onmessage: ((event: any) => void) | null
  onclose: ((event: any) => void) | null
  onerror: ((event: any) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export interface ParleyOptions {
  /** Parley's base URL (e.g. `https://chat.example.com`); a trailing `/v1` is accepted. */
  apiUrl: string
  /** Returns a session token for the signed-in user: usually a call to your session route. */
  tokenProvider?: () => Promise<TokenGrant | string> | TokenGrant | string
  /** For website visitors instead of `tokenProvider`: a publishable key (`pk_…`). */
  publishableKey?: string
  /** The visitor's device id (its secret: the same id is the same visitor). Generated and kept in `localStorage` when absent. */
  visitorId?: string
  /** A new visitor's profile (ignored for a returning visitor). */
  profile?: { name?: string; email?: string }
  /** Defaults to `globalThis.WebSocket`; pass `WebSocket` from the `ws` package on Node 20. */
  WebSocket?: WebSocketClass
  /** Defaults to `globalThis.fetch`. */
  fetch?: typeof fetch
  /** How long a REST call or a socket send may take before it fails with a `timeout` ConnectionError (default 15,000 ms). */
  timeoutMs?: number
}

/** The connection's state, as `'state'` listeners receive it. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** An event as listeners receive it (API.md §6). */
export interface ParleyEvent<T = any> {
  event: EventName
  conversationId?: string
  data: T
}

/** The API's JSON shapes, generated from the server's OpenAPI document (types only: nothing in the bundle). */
export type Message = Schemas['Message']
export type Member = Schemas['Member']
/** A conversation as `create` and `get` return it, with its `members`. */
export type Conversation = Schemas['Conversation']
/** A conversation as `list` returns it: no `members`. */
export type ConversationSummary = Schemas['ConversationSummary']
export type User = Schemas['User']

/** A list page: pass `nextCursor` back as `cursor` until it is null. */
export interface Page<T> {
  data: T[]
  nextCursor: string | null
}

/** A page of history, in ascending `seq`. */
export type History = Schemas['MessageHistory']

export type Unread = Answer<'me.unread'>

export type Identity = Answer<'identity.me'>

export type NewConversation = Body<'conversations.create'>

export interface NewMessage {
  text: string
  metadata?: Record<string, unknown>
  /** Makes a retry safe: the same id in the same conversation returns the original message. Generated when absent. */
  clientMessageId?: string
}
