/**
 * The realtime protocol as data (API.md §6): close codes, frame shapes and the parser for client
 * frames. The client SDK mirrors these facts; change them here first.
 */
export const CLOSE = {
  /** Bad or missing credential: refresh the token and retry once. */
  unauthorized: 4001,
  /** The token expired: refresh and reconnect. */
  tokenExpired: 4002,
  /** The token (or key) was revoked or the user deleted: ask the session route again. */
  tokenRevoked: 4003,
  /** Too many frames, or too slow to read what we send: back off. */
  rateLimited: 4008,
  /** A frame we cannot parse. */
  badFrame: 4400,
  /** Not allowed (e.g. the tenant is suspended): do not reconnect. */
  forbidden: 4500,
  /** The server is restarting: reconnect. */
  restarting: 1012,
  /** A frame over the size limit. */
  tooBig: 1009,
} as const

export const MAX_FRAME_BYTES = 64 * 1024
export const AUTH_TIMEOUT_MS = 10_000
export const HEARTBEAT_MS = 30_000
export const EXPIRY_WARNING_MS = 60_000
/** More missed messages than this in one conversation: the client refetches over REST. */
export const MAX_REPLAY = 1000

export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'ping'; id?: string | number }
  | { type: 'typing'; conversationId: string; state: 'start' | 'stop' }
  | { type: 'token.refresh'; token: string }
  | { type: 'resume'; positions: Record<string, number> }
  | { type: 'message.send'; ref: string; conversationId: string; text: string; clientMessageId?: string }

export class FrameError extends Error {
  constructor(
    message: string,
    readonly ref?: string,
  ) {
    super(message)
  }
}

const isString = (v: unknown, max = 256): v is string => typeof v === 'string' && v.length > 0 && v.length <= max

/** Parses one text frame; throws FrameError naming what is wrong. */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new FrameError('frames are JSON objects')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FrameError('frames are JSON objects')
  const frame = value as Record<string, unknown>
  const ref = typeof frame.ref === 'string' ? frame.ref.slice(0, 128) : undefined
  switch (frame.type) {
    case 'auth':
    case 'token.refresh':
      if (!isString(frame.token, 16_384)) throw new FrameError(`${frame.type} needs a token`)
      return { type: frame.type, token: frame.token }
    case 'ping':
      if (frame.id !== undefined && typeof frame.id !== 'string' && typeof frame.id !== 'number') throw new FrameError('ping id must be a string or number')
      return { type: 'ping', ...(frame.id !== undefined && { id: frame.id as string | number }) }
    case 'typing':
      if (!isString(frame.conversationId, 128) || (frame.state !== 'start' && frame.state !== 'stop')) {
        throw new FrameError('typing needs conversationId and state "start" or "stop"')
      }
      return { type: 'typing', conversationId: frame.conversationId, state: frame.state }
    case 'resume': {
      const positions = frame.positions
      if (typeof positions !== 'object' || positions === null || Array.isArray(positions)) throw new FrameError('resume needs positions')
      const entries = Object.entries(positions)
      if (entries.length > 1000 || !entries.every(([id, seq]) => id.length <= 128 && Number.isInteger(seq) && (seq as number) >= 0)) {
        throw new FrameError('positions maps conversation ids to last seen seqs (at most 1000)')
      }
      return { type: 'resume', positions: positions as Record<string, number> }
    }
    case 'message.send':
      if (!isString(frame.ref, 128) || !isString(frame.conversationId, 128) || !isString(frame.text, 10_000)) {
        throw new FrameError('message.send needs ref, conversationId and text (1 to 10,000 characters)', ref)
      }
      if (frame.clientMessageId !== undefined && !isString(frame.clientMessageId, 128)) throw new FrameError('clientMessageId must be a string', ref)
      return {
        type: 'message.send',
        ref: frame.ref,
        conversationId: frame.conversationId,
        text: frame.text,
        ...(frame.clientMessageId !== undefined && { clientMessageId: frame.clientMessageId as string }),
      }
    default:
      throw new FrameError(`unknown frame type ${JSON.stringify(frame.type)}`, ref)
  }
}

/** Server frames, serialised once per fan-out. */
export const frames = {
  ready: (connectionId: string, user: { id: string; kind: string } | null, expiresAt: string | null) =>
    JSON.stringify({ type: 'ready', connectionId, user, expiresAt }),
  event: (event: string, conversationId: string | null, data: unknown) =>
    JSON.stringify({ type: 'event', event, ...(conversationId !== null && { conversationId }), data }),
  pong: (id?: string | number) => JSON.stringify({ type: 'pong', ...(id !== undefined && { id }) }),
  error: (code: string, message: string, ref?: string) => JSON.stringify({ type: 'error', code, message, ...(ref !== undefined && { ref }) }),
  expiring: (expiresAt: string) => JSON.stringify({ type: 'token.expiring', expiresAt }),
  /** Our answer to token.refresh (the contract leaves it open): the socket's new expiry. */
  refreshed: (expiresAt: string | null) => JSON.stringify({ type: 'token.refreshed', expiresAt }),
  ack: (ref: string, message: unknown) => JSON.stringify({ type: 'ack', ref, message }),
  resumed: () => JSON.stringify({ type: 'resumed' }),
  resync: (conversationId: string) => JSON.stringify({ type: 'resync', conversationId }),
}
