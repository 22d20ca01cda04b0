/** Push devices, notifications and their public faces (API.md §10). */
import type { Selectable } from 'kysely'
import type { Environment } from '../core/environment.js'
import type { PushDevicesTable, PushLogTable } from '../storage/schema.js'
import type { ProviderType, PushMessage, PushTarget } from './provider.js'

/** A tenant environment: everything push keeps lives in one. */
export interface PushScope {
  tenantId: string
  environment: Environment
}

export type Platform = PushDevicesTable['platform']

/** Where each provider's notifications show up. */
export const PLATFORM_OF: Record<ProviderType, Platform> = { apns: 'ios', fcm: 'android', webpush: 'web' }

/** At most this many devices per user: the next one replaces the least recently used (API.md §10). */
export const MAX_DEVICES_PER_USER = 25

export interface Device {
  id: string
  tenantId: string
  environment: Environment
  userId: string
  provider: ProviderType
  platform: Platform
  /** The APNs or FCM token, or a Web Push subscription's endpoint. Never shown, never logged. */
  token: string
  /** A Web Push subscription's keys. */
  keys: { p256dh: string; auth: string } | null
  createdAt: string
  lastUsedAt: string
}

export function deviceFromRow(row: Selectable<PushDevicesTable>): Device {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    environment: row.environment,
    userId: row.user_id,
    provider: row.provider,
    platform: row.platform,
    token: row.token,
    keys: row.keys === null ? null : (JSON.parse(row.keys) as Device['keys']),
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  }
}

/** What a provider needs to reach the device. */
export function targetOf(device: Device): PushTarget {
  return device.provider === 'webpush' ? { subscription: { endpoint: device.token, keys: device.keys! } } : { token: device.token }
}

/** The public face of a device: never its token or subscription. */
export function deviceView(device: Device) {
  return { id: device.id, provider: device.provider, platform: device.platform, createdAt: device.createdAt, lastUsedAt: device.lastUsedAt }
}

export type NotificationStatus = PushLogTable['status']

/** One notification: a message to one device, as the push log keeps it. */
export interface Notification {
  id: string
  tenantId: string
  environment: Environment
  userId: string
  deviceId: string
  provider: ProviderType
  conversationId: string
  messageId: string
  eventId: string
  eventPosition: number
  status: NotificationStatus
  attempt: number
  responseStatus: number | null
  reason: string | null
  /** What it says, while it waits to be sent. */
  message: PushMessage | null
  /** What would have been sent, in test mode. */
  payload: unknown
  createdAt: string
  updatedAt: string
}

export function notificationFromRow(row: Selectable<PushLogTable>): Notification {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    environment: row.environment,
    userId: row.user_id,
    deviceId: row.device_id,
    provider: row.provider,
    conversationId: row.conversation_id,
    messageId: row.message_id,
    eventId: row.event_id,
    eventPosition: Number(row.event_position),
    status: row.status,
    attempt: row.attempt,
    responseStatus: row.response_status,
    reason: row.reason,
    message: row.message === null ? null : (JSON.parse(row.message) as PushMessage),
    payload: row.payload === null ? null : (JSON.parse(row.payload) as unknown),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** A record of the push log (GET /v1/push/deliveries). */
export function notificationView(n: Notification) {
  return {
    id: n.id,
    userId: n.userId,
    deviceId: n.deviceId,
    provider: n.provider,
    conversationId: n.conversationId,
    messageId: n.messageId,
    status: n.status,
    attempt: n.attempt,
    responseStatus: n.responseStatus,
    reason: n.reason,
    payload: n.status === 'test' ? n.payload : null,
    createdAt: n.createdAt,
    updatedAt: n.updatedAt,
  }
}
