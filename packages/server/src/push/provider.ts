/**
 * The push provider layer (API.md §10): one interface over APNs, FCM HTTP v1 and Web Push, the
 * payload each of them is sent, and what their answers mean for the queue. The push service
 * decides who gets what (PushMessage); a provider only turns that into one request and reads
 * the answer back as an outcome:
 *
 *   sent   – the provider accepted it
 *   gone   – the device will never accept anything again: delete it (the reason goes in the log)
 *   retry  – 429, 5xx or no answer at all: try again later (retryAfterMs when the provider said)
 *   failed – any other refusal: trying again would not help
 */
import { STATUS_CODES } from 'node:http'
import { retryAfterMs } from '../delivery/schedule.js'

export type ProviderType = 'apns' | 'fcm' | 'webpush'

export const PROVIDER_TYPES: readonly ProviderType[] = ['apns', 'fcm', 'webpush']

/** What a notification says, provider-neutral (built by the push service per §10). */
export interface PushMessage {
  title: string
  body: string
  conversationId: string
  messageId: string
  seq: number
  /** The recipient's total unread count: the iOS badge, FCM's data.unread. */
  unread: number
}

export interface WebPushSubscription {
  endpoint: string
  keys: { p256dh: string; auth: string }
}

/** Where it goes: a device token (APNs/FCM) or a Web Push subscription. */
export interface PushTarget {
  token?: string
  subscription?: WebPushSubscription
}

export type PushOutcome = 'sent' | 'gone' | 'retry' | 'failed'

export interface PushResult {
  /** gone: delete the device; retry: 429/5xx/network; failed: other 4xx. */
  outcome: PushOutcome
  /** The provider's HTTP status; null when there was no answer (network error, timeout). */
  responseStatus: number | null
  /** The provider's reason, e.g. 'Unregistered', 'UNREGISTERED', 'BadDeviceToken', or what went wrong. */
  reason: string | null
  /** From Retry-After, in ms. */
  retryAfterMs: number | null
}

export interface PushProvider {
  readonly type: ProviderType
  /** The exact JSON body this provider would send for this message and target (test mode logs it). */
  payload(message: PushMessage, target: PushTarget): unknown
  /** Never throws: every failure is a PushResult. */
  send(target: PushTarget, message: PushMessage, signal: AbortSignal): Promise<PushResult>
  /** Closes connections (the APNs HTTP/2 session, keep-alive sockets). */
  close(): Promise<void>
}

/** The deadline of one request to a provider (token exchanges included). */
export const PUSH_TIMEOUT_MS = 15_000
export const PUSH_USER_AGENT = 'Parley-Push/1.0'

// ---- Payloads, exactly as API.md §10 lists them ----

export interface ApnsPayload {
  aps: { alert: { title: string; body: string }; badge: number; sound: 'default'; 'thread-id': string }
  parley: { conversationId: string; messageId: string; seq: number }
}

export function apnsPayload(message: PushMessage): ApnsPayload {
  return {
    aps: { alert: { title: message.title, body: message.body }, badge: message.unread, sound: 'default', 'thread-id': message.conversationId },
    parley: { conversationId: message.conversationId, messageId: message.messageId, seq: message.seq },
  }
}

export interface FcmPayload {
  message: {
    token: string
    notification: { title: string; body: string }
    /** FCM data values must be strings. */
    data: { conversationId: string; messageId: string; seq: string; unread: string }
  }
}

export function fcmPayload(message: PushMessage, token: string): FcmPayload {
  return {
    message: {
      token,
      notification: { title: message.title, body: message.body },
      data: { conversationId: message.conversationId, messageId: message.messageId, seq: String(message.seq), unread: String(message.unread) },
    },
  }
}

export interface WebPushPayload {
  title: string
  body: string
  conversationId: string
  messageId: string
  seq: number
  unread: number
}

export function webPushPayload(message: PushMessage): WebPushPayload {
  const { title, body, conversationId, messageId, seq, unread } = message
  return { title, body, conversationId, messageId, seq, unread }
}

// ---- Outcomes ----

export const result = (outcome: PushOutcome, responseStatus: number | null, reason: string | null, retryAfter: number | null = null): PushResult => ({
  outcome,
  responseStatus,
  reason,
  retryAfterMs: retryAfter,
})

/** 429 and 5xx are worth another try later; the Retry-After header (seconds or a date) says when. */
export function isRetryable(status: number): boolean {
  return status === 429 || status >= 500
}

export function retryAfter(header: string | string[] | undefined, now: number): number | null {
  return retryAfterMs(Array.isArray(header) ? header[0] : header, now)
}

/** A short reason when the provider gave none: the status's phrase ("Gone", "Too Many Requests"). */
export const statusPhrase = (status: number): string => STATUS_CODES[status] ?? `HTTP ${status}`

/** No answer at all: worth retrying, except a destination the address rules refuse. */
export function networkFailure(error: unknown): PushResult {
  const reason = describeNetworkError(error)
  return result(reason.startsWith('address not allowed') ? 'failed' : 'retry', null, reason)
}

const NETWORK_MESSAGES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ABORT_ERR: 'aborted (the node is shutting down)',
  ERR_HTTP2_STREAM_CANCEL: 'request cancelled',
  ERR_HTTP2_GOAWAY_SESSION: 'the provider closed the connection',
  ERR_HTTP2_SESSION_ERROR: 'HTTP/2 session error',
  ERR_HTTP2_STREAM_ERROR: 'HTTP/2 stream error',
  ERR_HTTP2_INVALID_SESSION: 'the connection was closed',
}

/**
 * One line for the push log: what went wrong, without stack, URL or internals (nothing a
 * provider or the system error could have echoed, such as a key or a token, ends up here).
 */
export function describeNetworkError(error: unknown): string {
  const { code, name, message } = (error ?? {}) as NodeJS.ErrnoException
  if (code === 'EADDRNOTALLOWED' || error instanceof TimeoutError) return message
  if (name === 'AbortError') return NETWORK_MESSAGES.ABORT_ERR!
  if (code && NETWORK_MESSAGES[code]) return NETWORK_MESSAGES[code]
  if (code?.startsWith('ERR_TLS') || code?.includes('CERT')) return `TLS error: ${code}`
  return code ? `request failed: ${code}` : 'request failed'
}

/** A request past its deadline. */
export class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT'
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs / 1000} s`)
  }
}

/** JSON of an answer body, or null when it is not JSON (an HTML error page, nothing). */
export function parseJson(text: string): unknown {
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** A reason a provider put in its answer, bounded so a chatty answer cannot fill the log. */
export function shortReason(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value.slice(0, 200) : null
}
