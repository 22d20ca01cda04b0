/**
 * Push notifications as tenants and end users manage them (API.md §10): providers (secret key),
 * devices (a user with a session token for its own, a secret key for any user's), mutes (a member
 * with a session token) and the push log (secret key).
 */
import type { SecretCaller, SessionCaller } from '../core/caller.js'
import { ApiError, notFound } from '../core/errors.js'
import { openConversation } from '../conversations/access.js'
import type { ConversationStore } from '../conversations/store.js'
import type { AddressGuard } from '../delivery/address-guard.js'
import { type Clock, isoAt } from '../delivery/clock.js'
import { decodeCursor, encodeCursor } from '../lib/cursor.js'
import type { UserStore } from '../users/store.js'
import { validateApnsSettings } from './apns.js'
import { type DeviceInput, checkDevice } from './device-input.js'
import type { DeviceStore } from './devices.js'
import { validateFcmSettings } from './fcm.js'
import type { PushLog } from './log.js'
import { type PushScope, deviceView, notificationView } from './model.js'
import type { MuteStore } from './mutes.js'
import type { ProviderType } from './provider.js'
import type { ProviderCache } from './providers.js'
import { type AnySettings, type ProviderSettingsStore, providerView } from './settings.js'
import { generateVapidKeys, validateWebPushSubject } from './webpush.js'

export interface PushServiceDeps {
  settings: ProviderSettingsStore
  providers: ProviderCache
  devices: DeviceStore
  mutes: MuteStore
  log: PushLog
  users: UserStore
  conversations: ConversationStore
  guard: AddressGuard
  clock: Clock
  /** Providers changed on this node: the fan-out re-reads which tenants have some. */
  onProvidersChanged(): Promise<void>
}

const scopeOf = (caller: SecretCaller | SessionCaller): PushScope => ({ tenantId: caller.tenant.id, environment: caller.environment })

export class PushService {
  constructor(private readonly deps: PushServiceDeps) {}

  // ---- Providers ----

  /** Creates or replaces a provider's settings (PUT /v1/push/providers/{type}). */
  async setProvider(caller: SecretCaller, type: ProviderType, body: unknown) {
    const scope = scopeOf(caller)
    const provider = await this.settingsOf(scope, type, body)
    const stored = await this.deps.settings.put(scope, provider, isoAt(this.deps.clock.now()))
    this.deps.providers.forget(scope, type)
    await this.deps.onProvidersChanged()
    return providerView(stored)
  }

  async listProviders(caller: SecretCaller) {
    return { data: (await this.deps.settings.list(scopeOf(caller))).map(providerView) }
  }

  async deleteProvider(caller: SecretCaller, type: ProviderType): Promise<void> {
    const scope = scopeOf(caller)
    if (!(await this.deps.settings.delete(scope, type))) throw notFound(`Push provider ${type}`)
    this.deps.providers.forget(scope, type)
    await this.deps.onProvidersChanged()
  }

  private async settingsOf(scope: PushScope, type: ProviderType, body: unknown): Promise<AnySettings> {
    switch (type) {
      case 'apns':
        return { type, settings: validateApnsSettings(body) }
      case 'fcm':
        return { type, settings: validateFcmSettings(body) }
      case 'webpush': {
        const subject = validateWebPushSubject((body as { subject?: unknown }).subject)
        // The key pair is made once: browsers subscribed with its public key, and a new pair would
        // strand every subscription. DELETE the provider first to start over with a new one.
        const existing = await this.deps.settings.find(scope, 'webpush')
        const keys = existing ? (this.deps.settings.unseal(existing).settings as { publicKey: string; privateKey: string }) : generateVapidKeys()
        return { type, settings: { subject, publicKey: keys.publicKey, privateKey: keys.privateKey } }
      }
    }
  }

  // ---- Devices ----

  /** A user's own device, with its session token; visitors have none. */
  async registerOwnDevice(caller: SessionCaller, input: DeviceInput) {
    denyVisitors(caller)
    return this.register(scopeOf(caller), caller.userId, input)
  }

  async ownDevices(caller: SessionCaller) {
    denyVisitors(caller)
    return { data: (await this.deps.devices.ofUser(scopeOf(caller), caller.userId)).map(deviceView) }
  }

  async deleteOwnDevice(caller: SessionCaller, id: string): Promise<void> {
    denyVisitors(caller)
    if (!(await this.deps.devices.delete(scopeOf(caller), caller.userId, id))) throw notFound('Device')
  }

  /** Any user's device, with a secret key. */
  async registerDevice(caller: SecretCaller, userId: string, input: DeviceInput) {
    await this.requireUser(caller, userId)
    return this.register(scopeOf(caller), userId, input)
  }

  async devicesOf(caller: SecretCaller, userId: string) {
    await this.requireUser(caller, userId)
    return { data: (await this.deps.devices.ofUser(scopeOf(caller), userId)).map(deviceView) }
  }

  async deleteDevice(caller: SecretCaller, userId: string, id: string): Promise<void> {
    await this.requireUser(caller, userId)
    if (!(await this.deps.devices.delete(scopeOf(caller), userId, id))) throw notFound('Device')
  }

  private async register(scope: PushScope, userId: string, input: DeviceInput) {
    const device = await checkDevice(input, this.deps.guard)
    const { device: registered, created } = await this.deps.devices.register(scope, userId, device, isoAt(this.deps.clock.now()))
    return { device: deviceView(registered), created }
  }

  /** The user of the path must exist in this environment (else 404), and be a user: visitors get no pushes. */
  private async requireUser(caller: SecretCaller, userId: string): Promise<void> {
    const user = await this.deps.users.find(caller.tenant.id, caller.environment, userId)
    if (!user) throw notFound('User')
    if (user.kind === 'visitor') throw new ApiError('forbidden', 'Visitors cannot have push devices')
  }

  // ---- Mutes ----

  /** No push for this conversation until `until` (or until unmuted). */
  async mute(caller: SessionCaller, conversationId: string, until: string | null): Promise<void> {
    await openConversation(this.deps.conversations, caller, conversationId, 'read')
    await this.deps.mutes.mute(scopeOf(caller), conversationId, caller.userId, until, isoAt(this.deps.clock.now()))
  }

  async unmute(caller: SessionCaller, conversationId: string): Promise<void> {
    await openConversation(this.deps.conversations, caller, conversationId, 'read')
    await this.deps.mutes.unmute(scopeOf(caller), conversationId, caller.userId)
  }

  // ---- The log ----

  async deliveries(caller: SecretCaller, query: { limit: number; cursor?: string; userId?: string }) {
    const before = decodeCursor(query.cursor, 1)?.[0] as string | undefined
    const rows = await this.deps.log.list(scopeOf(caller), query.userId ?? null, query.limit + 1, before ?? null)
    const hasMore = rows.length > query.limit
    const data = hasMore ? rows.slice(0, query.limit) : rows
    return { data: data.map(notificationView), nextCursor: hasMore ? encodeCursor([data[data.length - 1]!.id]) : null }
  }

  // ---- Users ----

  /** A deleted user's devices, mutes and notifications go with it. */
  async userDeleted(scope: PushScope, userId: string): Promise<void> {
    await this.deps.devices.deleteOfUser(scope, userId)
    await this.deps.mutes.deleteOfUser(scope, userId)
    await this.deps.log.deleteOfUser(scope, userId)
  }
}

function denyVisitors(caller: SessionCaller): void {
  if (caller.userKind === 'visitor') throw new ApiError('forbidden', 'Visitors cannot have push devices')
}
