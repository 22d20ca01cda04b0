/**
 * The realtime protocol's facts (API.md §6, docs/realtime.md): close codes, frame types, event
 * names and limits. The server's gateway and the client SDK's reconnect logic both read them
 * here, so the two cannot disagree.
 */

/** WebSocket close codes the server uses, and what a client does about each. */
export const CLOSE = {
  /** Bad or missing credential: refresh the token and retry once. */
  unauthorized: 4001,
  /** The token expired: refresh and reconnect. */
  tokenExpired: 4002,
  /** The token (or key) was revoked or the user deleted: ask the session route again. */
  tokenRevoked: 4003,
  /** Too many frames, too slow to read what we send, or (after the auth frame) too many sockets or failed authentications: back off. */
  rateLimited: 4008,
  /** A binary frame: frames are JSON text. (A text frame that is no client frame gets an `error` frame with `bad_frame`; the socket stays open.) */
  badFrame: 4400,
  /** Not allowed (e.g. the tenant is suspended): do not reconnect. */
  forbidden: 4500,
  /** The server is restarting: reconnect. */
  restarting: 1012,
  /** A frame over the size limit. */
  tooBig: 1009,
} as const

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE]

/** Largest frame either side may send. */
export const MAX_FRAME_BYTES = 64 * 1024
/** A socket without a credential on the upgrade must send `auth` within this time. */
export const AUTH_TIMEOUT_MS = 10_000
/** The server pings every socket this often and drops one that misses two pongs. */
export const HEARTBEAT_MS = 30_000
/** `token.expiring` comes this long before the token expires. */
export const EXPIRY_WARNING_MS = 60_000
/** More missed messages than this in one conversation: `resync` instead of a replay. */
export const MAX_REPLAY = 1000

/** Every event a socket can deliver, as `{ type: "event", event, conversationId?, data }`. */
export const EVENT_NAMES = [
  'message.created',
  'message.updated',
  'message.deleted',
  'conversation.created',
  'conversation.updated',
  'conversation.deleted',
  'member.added',
  'member.removed',
  'read.updated',
  'typing',
  'key.alert',
] as const

export type EventName = (typeof EVENT_NAMES)[number]

/** Frames a client sends. */
export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'ping'; id?: string | number }
  | { type: 'typing'; conversationId: string; state: 'start' | 'stop' }
  | { type: 'token.refresh'; token: string }
  | { type: 'resume'; positions: Record<string, number> }
  | { type: 'message.send'; ref: string; conversationId: string; text: string; clientMessageId?: string }

/** Frames the server sends. */
export type ServerFrame =
  | { type: 'ready'; connectionId: string; user: { id: string; kind: string } | null; expiresAt: string | null }
  | { type: 'event'; event: EventName; conversationId?: string; data: any }
  | { type: 'pong'; id?: string | number }
  | { type: 'error'; code: string; message: string; ref?: string }
  | { type: 'token.expiring'; expiresAt: string }
  | { type: 'token.refreshed'; expiresAt: string | null }
  | { type: 'ack'; ref: string; message: any }
  | { type: 'resumed' }
  | { type: 'resync'; conversationId: string }

export type ClientFrameType = ClientFrame['type']
export type ServerFrameType = ServerFrame['type']
