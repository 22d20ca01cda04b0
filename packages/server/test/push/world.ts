/**
 * A real Parley whose push providers are the local fakes (fakes/): an h2c APNs that verifies the
 * provider token with the tenant's public key, an FCM with its OAuth token endpoint, and a Web Push
 * service per tenant that decrypts what it receives. Tenants come with all three providers
 * configured in one environment, users, devices and chat shortcuts.
 */
import { randomBytes } from 'node:crypto'
import type { Clock } from '../../src/delivery/clock.js'
import type { Engine } from '../helpers/databases.js'
import { type Response, type TestParley, startParley } from '../helpers/parley.js'
import { waitFor } from '../helpers/wait.js'
import { type ApnsFake, makeApnsKey, startApnsFake } from './fakes/apns.js'
import { type FcmFake, makeServiceAccount, startFcmFake } from './fakes/fcm.js'
import { type TestSubscription, type WebPushReceiver, startWebPushReceiver } from './fakes/webpush.js'

export type Provider = 'apns' | 'fcm' | 'webpush'

export interface PushWorld {
  t: TestParley
  apns: ApnsFake
  fcm: FcmFake
  /** The APNs settings every tenant of this world uses (the fake knows their key). */
  apnsSettings: { teamId: string; keyId: string; privateKey: string; bundleId: string; production: boolean }
  /** The FCM service account every tenant uses, its token_uri the fake's. */
  serviceAccount: Record<string, string>
  /** A new tenant with apns, fcm and webpush configured in `environment`. */
  tenant(environment?: 'live' | 'test'): Promise<PushTenant>
  close(): Promise<void>
}

export interface Device {
  id: string
  provider: Provider
  /** APNs/FCM token. */
  token?: string
  /** Web Push subscription (and the private half the receiver decrypts with). */
  subscription?: TestSubscription
}

export interface PushTenant {
  id: string
  /** The secret key of the configured environment. */
  key: string
  /** The tenant's other secret key (other environment). */
  otherKey: string
  webpush: WebPushReceiver
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, auth?: string): Promise<Response>
  users(...ids: string[]): Promise<void>
  token(userId: string): Promise<string>
  /** Registers a new device of `provider` for the user (with the secret key). */
  device(userId: string, provider: Provider): Promise<Device>
  group(members: string[], extra?: Record<string, unknown>): Promise<string>
  send(conversationId: string, senderId: string, text?: string): Promise<any>
  /** The push log (latest first), optionally of one user. */
  log(userId?: string): Promise<any[]>
  /** Waits until the push log holds `count` records matching `match`. */
  logged(count: number, match?: (record: any) => boolean, timeoutMs?: number): Promise<any[]>
}

export async function startPushWorld(options: { engine?: Engine; clock?: Clock; env?: Record<string, string> } = {}): Promise<PushWorld> {
  const apnsKey = makeApnsKey()
  const apnsSettings = { teamId: 'TEAM123456', keyId: 'KEY1234567', bundleId: 'com.example.chat', production: false, privateKey: apnsKey.privateKey }
  const apns = await startApnsFake({ publicKey: apnsKey.publicKey, teamId: apnsSettings.teamId, keyId: apnsSettings.keyId, bundleId: apnsSettings.bundleId })
  const account = makeServiceAccount()
  const fcm = await startFcmFake({ publicKey: account.publicKey, clientEmail: account.serviceAccount.client_email, projectId: account.serviceAccount.project_id })
  const serviceAccount = { ...account.serviceAccount, token_uri: fcm.tokenUri }
  const t = await startParley({
    engine: options.engine,
    clock: options.clock,
    env: { PARLEY_APNS_URL: apns.url, PARLEY_FCM_URL: fcm.url, PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true', ...options.env },
  })
  const receivers: WebPushReceiver[] = []

  const tenant = async (environment: 'live' | 'test' = 'live'): Promise<PushTenant> => {
    const created = await t.createTenant()
    const key = environment === 'live' ? created.liveKey : created.testKey
    const call: PushTenant['call'] = (method, url, body, auth = key) => t.call(method, url, { auth, body })
    const ok = (res: Response, what: string, statuses = [200, 201, 204]) => {
      if (!statuses.includes(res.status)) throw new Error(`${what}: ${res.status} ${res.text}`)
      return res
    }
    ok(await call('PUT', '/v1/push/providers/apns', apnsSettings), 'apns provider')
    ok(await call('PUT', '/v1/push/providers/fcm', { serviceAccount }), 'fcm provider')
    const { publicKey } = ok(await call('PUT', '/v1/push/providers/webpush', { subject: 'mailto:ops@example.com' }), 'webpush provider').body
    const webpush = await startWebPushReceiver({ vapidPublicKey: publicKey })
    receivers.push(webpush)

    const pushTenant: PushTenant = {
      id: created.id,
      key,
      otherKey: environment === 'live' ? created.testKey : created.liveKey,
      webpush,
      call,
      users: async (...ids) => {
        for (const id of ids) ok(await call('POST', '/v1/users', { id, displayName: `${id[0]!.toUpperCase()}${id.slice(1)}` }), `user ${id}`)
      },
      token: async (userId) => ok(await call('POST', '/v1/auth/token', { userId }), `token ${userId}`).body.token,
      device: async (userId, provider) => {
        if (provider === 'webpush') {
          const subscription = webpush.subscribe()
          const res = ok(await call('POST', `/v1/users/${userId}/devices`, { provider, subscription: subscription.subscription }), 'webpush device')
          return { id: res.body.id, provider, subscription }
        }
        const token = provider === 'apns' ? randomBytes(32).toString('hex') : `fcm:${randomBytes(24).toString('base64url')}`
        const res = ok(await call('POST', `/v1/users/${userId}/devices`, { provider, token }), `${provider} device`)
        return { id: res.body.id, provider, token }
      },
      group: async (members, extra = {}) => ok(await call('POST', '/v1/conversations', { type: 'group', members, ...extra }), 'group').body.id,
      send: async (conversationId, senderId, text = `hello from ${senderId}`) =>
        ok(await call('POST', `/v1/conversations/${conversationId}/messages`, { senderId, text }), 'send').body,
      log: async (userId) => ok(await call('GET', `/v1/push/deliveries?limit=200${userId ? `&userId=${userId}` : ''}`), 'log').body.data,
      logged: async (count, match = () => true, timeoutMs = 10_000) => {
        let rows: any[] = []
        const deadline = Date.now() + timeoutMs
        for (;;) {
          rows = (await pushTenant.log()).filter(match)
          if (rows.length >= count) return rows
          if (Date.now() > deadline) throw new Error(`push log: ${count} records not reached within ${timeoutMs} ms: ${JSON.stringify(rows)}`)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      },
    }
    return pushTenant
  }

  return {
    t,
    apns,
    fcm,
    apnsSettings,
    serviceAccount,
    tenant,
    close: async () => {
      await t.close()
      for (const receiver of receivers) await receiver.close()
      await apns.close()
      await fcm.close()
    },
  }
}

/** Requests the fakes received for one device. */
export function requestsTo(world: PushWorld, tenant: PushTenant, device: Device): any[] {
  if (device.provider === 'apns') return world.apns.requests.filter((r) => r.deviceToken === device.token)
  if (device.provider === 'fcm') return world.fcm.requests.filter((r) => r.deviceToken === device.token)
  return tenant.webpush.requests.filter((r) => r.subscriptionId === device.subscription!.id)
}

export { waitFor }
