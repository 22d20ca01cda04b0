/**
 * The check of provider settings at `PUT /v1/push/providers/{type}` (and on building a provider):
 * fields present and well formed, private keys that parse and are of the right kind. Throws
 * ApiError validation_failed naming the field; the message never contains the key.
 */
import { type ApnsSettings, validateApnsSettings } from './apns.js'
import { type FcmSettings, validateFcmSettings } from './fcm.js'
import type { ProviderType } from './provider.js'
import { validateWebPushSettings, type WebPushSettings } from './webpush.js'

export interface ValidSettings {
  apns: ApnsSettings
  fcm: FcmSettings
  webpush: WebPushSettings
}

/**
 * APNs and FCM settings as the tenant sent them; Web Push settings with their generated keys
 * (the tenant sends only `subject`: check that alone with validateWebPushSubject).
 * Returns only the known fields (an FCM key file's other fields are dropped).
 */
export function validateProviderSettings<T extends ProviderType>(type: T, value: unknown): ValidSettings[T] {
  const validate = { apns: validateApnsSettings, fcm: validateFcmSettings, webpush: validateWebPushSettings }[type]
  return validate(value) as ValidSettings[T]
}
