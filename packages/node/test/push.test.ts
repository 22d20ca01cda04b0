/** Every method of parley.push against a real Parley sending to the server suite's local APNs fake. */
import { createECDH, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { listeningWorld } from '../../server/test/helpers/realtime.js'
import { waitFor } from '../../server/test/helpers/wait.js'
import { type ApnsFake, makeApnsKey, startApnsFake } from '../../server/test/push/fakes/apns.js'
import { makeServiceAccount } from '../../server/test/push/fakes/fcm.js'
import { NotFoundError, Parley, ValidationError } from '../src/index.js'

const apnsKey = makeApnsKey()
const apnsSettings = { teamId: 'TEAM123456', keyId: 'KEY1234567', bundleId: 'com.example.chat', production: false, privateKey: apnsKey.privateKey }
let apns: ApnsFake
let t: TestParley
let world: ChatWorld
let parley: Parley

beforeAll(async () => {
  apns = await startApnsFake({ publicKey: apnsKey.publicKey, teamId: apnsSettings.teamId, keyId: apnsSettings.keyId, bundleId: apnsSettings.bundleId })
  let url: string
  ;({ t, world, url } = await listeningWorld({ PARLEY_APNS_URL: apns.url, PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true' }))
  parley = new Parley({ apiKey: world.key, apiUrl: url })
})
afterAll(async () => {
  await t?.close()
  await apns?.close()
})

it('sets, lists and deletes providers, and never shows a private key', async () => {
  const set = await parley.push.setProvider('apns', apnsSettings)
  expect(set).toEqual({ type: 'apns', configured: true, updatedAt: expect.any(String), teamId: 'TEAM123456', keyId: 'KEY1234567', bundleId: 'com.example.chat', production: false })
  const vapid = await parley.push.setProvider('webpush', { subject: 'mailto:ops@example.com' })
  expect(vapid.publicKey).toMatch(/^[A-Za-z0-9_-]{87}$/)
  const { serviceAccount } = makeServiceAccount()
  await parley.push.setProvider('fcm', { serviceAccount })
  const { data } = await parley.push.providers()
  expect(data.map((provider) => provider.type)).toEqual(['apns', 'fcm', 'webpush'])
  expect(JSON.stringify(data)).not.toContain('PRIVATE KEY')

  await parley.push.deleteProvider('fcm')
  expect((await parley.push.providers()).data.map((provider) => provider.type)).toEqual(['apns', 'webpush'])
  await expect(parley.push.deleteProvider('fcm')).rejects.toBeInstanceOf(NotFoundError)
  await expect(parley.push.setProvider('apns', { ...apnsSettings, privateKey: 'not a key' })).rejects.toBeInstanceOf(ValidationError)
})

/** A browser's subscription, as PushSubscription.toJSON() gives it (nobody listens at its endpoint). */
function browserSubscription() {
  const userAgent = createECDH('prime256v1')
  userAgent.generateKeys()
  return { endpoint: 'https://push.example.invalid/send/1', keys: { p256dh: userAgent.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } }
}

it('registers, lists and deletes devices, and reads the push log of what was sent to them', async () => {
  await parley.push.setProvider('apns', apnsSettings)
  await parley.users.upsert({ id: 'ann', displayName: 'Ann' })
  await parley.users.upsert({ id: 'carol' })

  const token = randomBytes(32).toString('hex')
  const phone = await parley.push.devices.register('carol', { provider: 'apns', token })
  expect(phone).toEqual({ created: true, device: expect.objectContaining({ provider: 'apns', platform: 'ios', id: expect.stringMatching(/^dev_/) }) })
  const again = await parley.push.devices.register('carol', { provider: 'apns', token })
  expect(again).toEqual({ created: false, device: expect.objectContaining({ id: phone.device.id }) })
  const browser = await parley.push.devices.register('carol', { provider: 'webpush', subscription: browserSubscription() })
  expect(browser.device.platform).toBe('web')
  expect((await parley.push.devices.list('carol')).data.map((device) => device.id).sort()).toEqual([phone.device.id, browser.device.id].sort())
  await parley.push.devices.delete('carol', browser.device.id)
  await expect(parley.push.devices.register('carol', { provider: 'apns', token: 'nope' })).rejects.toBeInstanceOf(ValidationError)

  const conversation = await parley.conversations.create({ type: 'group', members: ['ann', 'carol'], name: 'SDK' })
  const message = await parley.messages.send(conversation.id, { senderId: 'ann', text: 'to your phone' })
  await waitFor(() => apns.delivered().length === 1, 10_000, 'the push')
  expect(apns.requests[0]!.body.aps.alert).toEqual({ title: 'SDK', body: 'to your phone' })

  let log = await parley.push.deliveries({ userId: 'carol' })
  for (let i = 0; i < 100 && log.data[0]?.status !== 'sent'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    log = await parley.push.deliveries({ userId: 'carol' })
  }
  expect(log.data.map((record) => [record.deviceId, record.provider, record.status, record.messageId])).toEqual([[phone.device.id, 'apns', 'sent', message.id]])
  expect((await parley.push.deliveries({ userId: 'ann' })).data).toEqual([])

  await parley.push.devices.delete('carol', phone.device.id)
  await expect(parley.push.devices.delete('carol', phone.device.id)).rejects.toBeInstanceOf(NotFoundError)
  expect((await parley.push.devices.list('carol')).data).toEqual([])
})
