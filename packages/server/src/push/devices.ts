/**
 * The push_devices table: where each user's notifications go. A token is unique per tenant
 * environment: registered again by its user it is the same device (200); by another user it moves
 * to that user as a new device (201, a new id: the previous user's id for it stops working). A user
 * keeps at most MAX_DEVICES_PER_USER; registering one more deletes the least recently used
 * (registered or pushed to) in the same transaction.
 */
import type { Kysely } from 'kysely'
import { newId } from '../core/ids.js'
import { padded } from '../delivery/rows.js'
import { isUniqueViolation } from '../storage/database.js'
import { type Arg, prepareBySize } from '../storage/prepared.js'
import type { Database } from '../storage/schema.js'
import { type Device, MAX_DEVICES_PER_USER, PLATFORM_OF, type PushScope, deviceFromRow } from './model.js'
import type { ProviderType } from './provider.js'

type Executor = Kysely<Database>

export interface NewDevice {
  provider: ProviderType
  /** The APNs or FCM token, or the subscription's endpoint. */
  token: string
  keys: { p256dh: string; auth: string } | null
}

/** Users per `in` list: well under both engines' bound-parameter limits. */
const CHUNK = 500

export class DeviceStore {
  // Run for every batch of notifications the worker sends: built once (storage/prepared.ts).
  private readonly byIdsQuery
  private readonly touchQuery

  constructor(private readonly db: Kysely<Database>) {
    const idArgs = (arg: Arg, size: number, from: number) => Array.from({ length: size }, (_, i) => arg(from + i))
    this.byIdsQuery = prepareBySize((arg, size) => db.selectFrom('push_devices').selectAll().where('id', 'in', idArgs(arg, size, 0)))
    this.touchQuery = prepareBySize((arg, size) => db.updateTable('push_devices').set({ last_used_at: arg(0) }).where('id', 'in', idArgs(arg, size, 1)))
  }

  /** Registers (or re-registers) a device; `created` is false when the token was already this user's. */
  async register(scope: PushScope, userId: string, input: NewDevice, now: string): Promise<{ device: Device; created: boolean }> {
    try {
      return await this.db.transaction().execute((trx) => this.registerIn(trx, scope, userId, input, now))
    } catch (error) {
      // The same token registered at the same moment by another request: that one won; read it now.
      if (!isUniqueViolation(error)) throw error
      return this.db.transaction().execute((trx) => this.registerIn(trx, scope, userId, input, now))
    }
  }

  private async registerIn(trx: Executor, scope: PushScope, userId: string, input: NewDevice, now: string): Promise<{ device: Device; created: boolean }> {
    const keys = input.keys === null ? null : JSON.stringify(input.keys)
    const platform = PLATFORM_OF[input.provider]
    const existing = await trx
      .selectFrom('push_devices')
      .selectAll()
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('token', '=', input.token)
      .executeTakeFirst()
    if (existing && existing.user_id === userId) {
      await trx.updateTable('push_devices').set({ provider: input.provider, platform, keys, last_used_at: now }).where('id', '=', existing.id).execute()
      return { device: deviceFromRow({ ...existing, provider: input.provider, platform, keys, last_used_at: now }), created: false }
    }
    if (existing) await trx.deleteFrom('push_devices').where('id', '=', existing.id).execute()
    const row = {
      id: newId('device'),
      tenant_id: scope.tenantId,
      environment: scope.environment,
      user_id: userId,
      provider: input.provider,
      platform,
      token: input.token,
      keys,
      created_at: now,
      last_used_at: now,
    }
    await trx.insertInto('push_devices').values(row).execute()
    await this.keepNewest(trx, scope, userId)
    return { device: deviceFromRow(row), created: true }
  }

  /** Deletes a user's least recently used devices beyond the limit. */
  private async keepNewest(trx: Executor, scope: PushScope, userId: string): Promise<void> {
    const ids = await trx
      .selectFrom('push_devices')
      .select('id')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('user_id', '=', userId)
      .orderBy('last_used_at')
      .orderBy('created_at')
      .orderBy('id')
      .execute()
    const doomed = ids.slice(0, Math.max(0, ids.length - MAX_DEVICES_PER_USER)).map((row) => row.id)
    if (doomed.length > 0) await trx.deleteFrom('push_devices').where('id', 'in', doomed).execute()
  }

  /** A user's devices, most recently used first. */
  async ofUser(scope: PushScope, userId: string): Promise<Device[]> {
    const rows = await this.db
      .selectFrom('push_devices')
      .selectAll()
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('user_id', '=', userId)
      .orderBy('last_used_at', 'desc')
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute()
    return rows.map(deviceFromRow)
  }

  /** True when the user had this device. */
  async delete(scope: PushScope, userId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('push_devices')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  async deleteOfUser(scope: PushScope, userId: string): Promise<void> {
    await this.db
      .deleteFrom('push_devices')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('user_id', '=', userId)
      .execute()
  }

  /** The devices of these users that one of `providers` can reach. */
  async ofUsers(db: Executor, scope: PushScope, userIds: readonly string[], providers: readonly ProviderType[]): Promise<Device[]> {
    const devices: Device[] = []
    if (providers.length === 0) return devices
    for (let i = 0; i < userIds.length; i += CHUNK) {
      const rows = await db
        .selectFrom('push_devices')
        .selectAll()
        .where('tenant_id', '=', scope.tenantId)
        .where('environment', '=', scope.environment)
        .where('user_id', 'in', userIds.slice(i, i + CHUNK))
        .where('provider', 'in', [...providers])
        .execute()
      for (const row of rows) devices.push(deviceFromRow(row))
    }
    return devices
  }

  async byIds(ids: readonly string[]): Promise<Map<string, Device>> {
    const found = new Map<string, Device>()
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = padded(ids.slice(i, i + CHUNK), CHUNK)
      const rows = await this.byIdsQuery(chunk.length).execute(this.db, chunk)
      for (const row of rows) found.set(row.id, deviceFromRow(row))
    }
    return found
  }

  /** The provider said the device is gone: it is deleted at once. */
  async prune(db: Executor, id: string): Promise<void> {
    await db.deleteFrom('push_devices').where('id', '=', id).execute()
  }

  /** The devices were just pushed to (least recently used counts pushes too). */
  async touch(db: Executor, ids: readonly string[], now: string): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = padded(ids.slice(i, i + CHUNK), CHUNK)
      await this.touchQuery(chunk.length).execute(db, [now, ...chunk])
    }
  }
}
