/**
 * Who gets a push for a new message (API.md §10), and what it says: every member of the
 * conversation but the sender that has a device a configured provider can reach, has not muted the
 * conversation, and has no open realtime socket on any node; one notification per such device.
 *
 * A whole batch of messages (every message.created the fan-out read in one transaction) is
 * answered at once, per tenant environment: the members of all their conversations, the devices,
 * mutes, presence and unread totals of all those members, and the names of titles, each in one
 * query (per chunk of users) and one presence lookup, however many messages the batch holds. Each
 * step narrows the users the next one asks about. Unread totals read once for the batch are what
 * reading them per message would give: the batch's messages are all committed before it is read.
 *
 * In the test environment nothing is sent: the notification is written with the exact payload the
 * provider would have sent (status `test`).
 */
import type { Kysely } from 'kysely'
import type { Presence } from '../cluster/presence.js'
import type { Database } from '../storage/schema.js'
import type { DeviceStore } from './devices.js'
import type { NewNotification } from './log.js'
import { type Device, type PushScope, targetOf } from './model.js'
import type { MuteStore } from './mutes.js'
import { type MessageFacts, pushMessageOf } from './notification.js'
import type { ProviderCache } from './providers.js'
import type { PushMessage, PushProvider } from './provider.js'
import { type StoredProvider, scopeKey } from './settings.js'
import { unreadTotals } from './unread.js'

/** A message.created event read from the outbox, with the message's text (its content was not forgotten). */
export interface NewMessage {
  scope: PushScope
  eventId: string
  eventPosition: number
  conversationId: string
  messageId: string
  seq: number
  senderId: string
  text: string
}

export interface RecipientDeps {
  devices: DeviceStore
  mutes: MuteStore
  presence: Presence
  providers: ProviderCache
}

const CHUNK = 500

export class Recipients {
  constructor(private readonly deps: RecipientDeps) {}

  /**
   * The notifications of a batch of messages (in their order), given the providers each tenant
   * environment has (by scopeKey); a message of an environment without providers notifies nobody.
   */
  async ofBatch(trx: Kysely<Database>, messages: readonly NewMessage[], configured: ReadonlyMap<string, readonly StoredProvider[]>, now: number): Promise<NewNotification[]> {
    const byScope = new Map<string, NewMessage[]>()
    for (const message of messages) {
      const key = scopeKey(message.scope)
      if (!configured.has(key)) continue
      byScope.set(key, [...(byScope.get(key) ?? []), message])
    }
    const notifications: NewNotification[] = []
    for (const [key, ofScope] of byScope) notifications.push(...(await this.ofScope(trx, ofScope, configured.get(key)!, now)))
    // Position order, as the messages came.
    return notifications.sort((a, b) => a.eventPosition - b.eventPosition)
  }

  private async ofScope(trx: Kysely<Database>, messages: NewMessage[], configured: readonly StoredProvider[], now: number): Promise<NewNotification[]> {
    const scope = messages[0]!.scope
    const byType = new Map(configured.map((stored) => [stored.type, stored]))
    const conversations = [...new Set(messages.map((m) => m.conversationId))]
    const membersOf = await this.membersOf(trx, scope, conversations)
    const senders = new Set(messages.map((m) => m.senderId))
    // Everyone a message of the batch may notify: members of its conversation but its sender.
    const candidates = new Set<string>()
    for (const message of messages) for (const userId of membersOf.get(message.conversationId) ?? []) if (userId !== message.senderId) candidates.add(userId)
    if (candidates.size === 0) return []
    const devices = await this.deps.devices.ofUsers(trx, scope, [...candidates], [...byType.keys()])
    if (devices.length === 0) return []
    const devicesOf = new Map<string, Device[]>()
    for (const device of devices) devicesOf.set(device.userId, [...(devicesOf.get(device.userId) ?? []), device])

    let users = [...devicesOf.keys()]
    const muted = await this.deps.mutes.mutedPairs(trx, scope, conversations, users, new Date(now).toISOString())
    // Presence only of those some message may still notify (not muted everywhere it would).
    const reachable = new Set<string>()
    for (const message of messages) {
      for (const userId of membersOf.get(message.conversationId) ?? []) {
        if (userId !== message.senderId && devicesOf.has(userId) && !muted.has(`${message.conversationId} ${userId}`)) reachable.add(userId)
      }
    }
    if (reachable.size === 0) return []
    const online = await this.deps.presence.online(scope, [...reachable])
    users = [...reachable].filter((id) => !online.has(id))
    if (users.length === 0) return []

    const recipients = new Set(users)
    const names = await this.namesOf(trx, scope, conversations, [...senders])
    const unread = await unreadTotals(trx, scope, users)
    const test = scope.environment === 'test'
    const notifications: NewNotification[] = []
    for (const message of messages) {
      let facts: MessageFacts | null = null
      for (const userId of membersOf.get(message.conversationId) ?? []) {
        if (userId === message.senderId || !recipients.has(userId) || muted.has(`${message.conversationId} ${userId}`)) continue
        facts ??= {
          conversationId: message.conversationId,
          messageId: message.messageId,
          seq: message.seq,
          text: message.text,
          conversationName: names.conversations.get(message.conversationId) ?? null,
          senderDisplayName: names.users.get(message.senderId) ?? null,
          senderId: message.senderId,
        }
        const pushMessage = pushMessageOf(facts, unread.get(userId) ?? 0)
        for (const device of devicesOf.get(userId)!) {
          notifications.push({
            scope,
            userId,
            deviceId: device.id,
            provider: device.provider,
            message: pushMessage,
            eventId: message.eventId,
            eventPosition: message.eventPosition,
            status: test ? 'test' : 'pending',
            payload: test ? this.payloadOf(byType.get(device.provider)!, device, pushMessage) : null,
          })
        }
      }
    }
    return notifications
  }

  /** The members of these conversations, by conversation. */
  private async membersOf(trx: Kysely<Database>, scope: PushScope, conversationIds: string[]): Promise<Map<string, string[]>> {
    const members = new Map<string, string[]>()
    for (let i = 0; i < conversationIds.length; i += CHUNK) {
      const rows = await trx
        .selectFrom('members')
        .select(['conversation_id', 'user_id'])
        .where('tenant_id', '=', scope.tenantId)
        .where('environment', '=', scope.environment)
        .where('conversation_id', 'in', conversationIds.slice(i, i + CHUNK))
        .execute()
      for (const row of rows) {
        const list = members.get(row.conversation_id)
        if (list) list.push(row.user_id)
        else members.set(row.conversation_id, [row.user_id])
      }
    }
    return members
  }

  /**
   * The test environment's record: exactly what the provider would have sent. Settings that can no
   * longer be unsealed (the KEK was replaced) leave it without a payload, rather than stopping the
   * fan-out, which every tenant's notifications wait behind.
   */
  private payloadOf(stored: StoredProvider, device: Device, message: PushMessage): unknown {
    let provider: PushProvider
    try {
      provider = this.deps.providers.get(stored)
    } catch {
      return null
    }
    return provider.payload(message, targetOf(device))
  }

  /** The names titles are made of, read now (a renamed conversation is pushed under its new name). */
  private async namesOf(trx: Kysely<Database>, scope: PushScope, conversationIds: string[], senderIds: string[]) {
    const [conversations, users] = await Promise.all([
      trx
        .selectFrom('conversations')
        .select(['id', 'name'])
        .where('tenant_id', '=', scope.tenantId)
        .where('environment', '=', scope.environment)
        .where('id', 'in', conversationIds)
        .execute(),
      trx
        .selectFrom('users')
        .select(['id', 'display_name'])
        .where('tenant_id', '=', scope.tenantId)
        .where('environment', '=', scope.environment)
        .where('id', 'in', senderIds)
        .execute(),
    ])
    return {
      conversations: new Map(conversations.map((row) => [row.id, row.name])),
      users: new Map(users.map((row) => [row.id, row.display_name])),
    }
  }
}
