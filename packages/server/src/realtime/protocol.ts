/**
 * The realtime protocol as data (API.md §6): close codes, frame shapes and the parser for client
 * frames. Close codes, limits and frame types live in @parley/protocol, shared with the client
 * SDK: change them there.
 */
import type { ClientFrame } from '@parley/protocol/realtime'
import type { ErrorCode } from '../core/errors.js'

export type { ClientFrame }
export { AUTH_TIMEOUT_MS, CLOSE, EXPIRY_WARNING_MS, HEARTBEAT_MS, MAX_FRAME_BYTES, MAX_REPLAY } from '@parley/protocol/realtime'

/** Frames a socket may send in each fixed window; one more closes it with 4008 (`CLOSE.rateLimited`). */
export const FRAME_RATE_LIMIT = { limit: 100, windowSeconds: 5 } as const

/**
 * The codes an `error` frame carries: the HTTP codes (core/errors.ts), the same one REST would
 * answer for the same request, and these, which only sockets send (docs/errors.md lists them too).
 */
export const SOCKET_ONLY_ERROR_CODES = {
  bad_frame: 'A text frame that is not a client frame (not a JSON object, an unknown type, a missing or bad field), or a second auth frame',
} as const

export type SocketErrorCode = ErrorCode | keyof typeof SOCKET_ONLY_ERROR_CODES

export class FrameError extends Error {
  constructor(
    message: string,
    readonly ref?: string,
  ) {
    super(message)
  }
}

// U+0000 is refused in every string, as the HTTP schemas do: PostgreSQL cannot store it in text.
const isString = (v: unknown, max = 256): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max && !v.includes('\u0000')

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
  error: (code: SocketErrorCode, message: string, ref?: string) => JSON.stringify({ type: 'error', code, message, ...(ref !== undefined && { ref }) }),
  expiring: (expiresAt: string) => JSON.stringify({ type: 'token.expiring', expiresAt }),
  /** Our answer to token.refresh (the contract leaves it open): the socket's new expiry. */
  refreshed: (expiresAt: string | null) => JSON.stringify({ type: 'token.refreshed', expiresAt }),
  ack: (ref: string, message: unknown) => JSON.stringify({ type: 'ack', ref, message }),
  resumed: () => JSON.stringify({ type: 'resumed' }),
  resync: (conversationId: string) => JSON.stringify({ type: 'resync', conversationId }),
}
