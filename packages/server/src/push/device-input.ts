/**
 * Checking a device as it is registered (POST …/devices): APNs and FCM take a `token`, Web Push a
 * browser's `subscription`, whose endpoint is held to the webhook address rules (Parley will send
 * requests there) and whose keys must be what a browser makes (RFC 8291: a P-256 public key on the
 * curve and a 16-byte auth secret), so a subscription that could never be encrypted to is refused now, not at
 * every message.
 */
import { invalidParam } from '../core/errors.js'
import type { AddressGuard } from '../delivery/address-guard.js'
import type { NewDevice } from './devices.js'
import type { ProviderType } from './provider.js'
import { webPushSubscriptionProblem } from './webpush.js'

export interface DeviceInput {
  provider: ProviderType
  token?: string
  subscription?: { endpoint: string; keys: { p256dh: string; auth: string } }
}

const APNS_TOKEN = /^[0-9A-Fa-f]{64,200}$/
// FCM registration tokens: base64url-ish text with ':' (no spaces, no quotes).
const FCM_TOKEN = /^[A-Za-z0-9_:.-]{16,2048}$/

export async function checkDevice(input: DeviceInput, guard: AddressGuard): Promise<NewDevice> {
  if (input.provider === 'webpush') {
    if (input.token !== undefined) throw invalidParam('token', 'is not used with webpush: send the browser\'s subscription instead')
    const { subscription } = input
    if (!subscription) throw invalidParam('subscription', 'is required with webpush (the PushSubscription, as subscription.toJSON() gives it)')
    const problem = webPushSubscriptionProblem(subscription)
    if (problem) {
      // "subscription.keys.auth must be …": the field, then what it must be.
      const [param] = problem.split(' ', 1) as [string]
      throw invalidParam(param, problem.slice(param.length + 1))
    }
    const refusal = await guard.refusal(subscription.endpoint)
    if (refusal) throw invalidParam('subscription.endpoint', refusal)
    return { provider: 'webpush', token: subscription.endpoint, keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth } }
  }
  if (input.subscription !== undefined) throw invalidParam('subscription', `is only for webpush; ${input.provider} takes a token`)
  if (input.token === undefined) throw invalidParam('token', `is required with ${input.provider}`)
  if (input.provider === 'apns' && !APNS_TOKEN.test(input.token)) throw invalidParam('token', 'must be the APNs device token in hex (64 characters)')
  if (input.provider === 'fcm' && !FCM_TOKEN.test(input.token)) throw invalidParam('token', 'must be the FCM registration token, as the Firebase SDK returns it')
  // One device whatever the case its hex token was sent in.
  return { provider: input.provider, token: input.provider === 'apns' ? input.token.toLowerCase() : input.token, keys: null }
}
