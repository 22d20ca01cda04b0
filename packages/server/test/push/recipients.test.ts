/**
 * Who gets a push for a new message, and what it says (API.md §10), on every engine, through the
 * provider fakes: every offline member but the sender gets exactly one notification per device;
 * an online member, the sender and a member who muted the conversation get none; edits and
 * deletions send nothing; the test environment sends nothing and logs the exact payload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UNREAD_WINDOW } from '../../src/push/unread.js'
import { ENGINES } from '../helpers/databases.js'
import { connect } from '../helpers/realtime.js'
import { sleep } from '../helpers/wait.js'
import { type Device, type PushTenant, type PushWorld, requestsTo, startPushWorld } from './world.js'

/** Long enough for a notification that should not exist to have shown up. */
const SETTLE_MS = 300

for (const engine of ENGINES) {
  describe(`who gets a push, on ${engine}`, () => {
    let w: PushWorld
    let url: string
    beforeAll(async () => {
      w = await startPushWorld({ engine })
      url = await w.t.parley.app.listen({ port: 0, host: '127.0.0.1' })
    })
    afterAll(() => w?.close())

    /** A tenant with ann, bob, carol and dave, each with one device per provider. */
    async function everyoneWithDevices(tenant: PushTenant) {
      await tenant.users('ann', 'bob', 'carol', 'dave')
      const devices: Record<string, Device[]> = {}
      for (const user of ['ann', 'bob', 'carol', 'dave']) {
        devices[user] = [await tenant.device(user, 'apns'), await tenant.device(user, 'fcm'), await tenant.device(user, 'webpush')]
      }
      return devices
    }

    it('sends one push per device to each offline member, none to the sender or to a member with an open socket', async () => {
      const tenant = await w.tenant()
      const devices = await everyoneWithDevices(tenant)
      const conversation = await tenant.group(['ann', 'bob', 'carol', 'dave'], { name: 'Launch' })
      const bob = await connect(url, await tenant.token('bob'))
      const message = await tenant.send(conversation, 'ann', 'Ship it')

      const log = await tenant.logged(6, (r) => r.status === 'sent')
      await sleep(SETTLE_MS)
      for (const user of ['carol', 'dave']) {
        for (const device of devices[user]!) expect(requestsTo(w, tenant, device), `${user} ${device.provider}`).toHaveLength(1)
      }
      for (const user of ['ann', 'bob']) {
        for (const device of devices[user]!) expect(requestsTo(w, tenant, device), `${user} ${device.provider}`).toHaveLength(0)
      }
      const all = await tenant.log()
      expect(all).toHaveLength(6)
      expect(new Set(all.map((r) => r.deviceId))).toEqual(new Set([...devices.carol!, ...devices.dave!].map((d) => d.id)))
      expect(log[0]).toMatchObject({ messageId: message.id, conversationId: conversation, status: 'sent', attempt: 1, reason: null, payload: null })

      // Once bob's socket is closed, he is offline like the others.
      bob.close()
      await bob.closed()
      await tenant.send(conversation, 'ann', 'Again')
      await tenant.logged(3, (r) => r.userId === 'bob' && r.status === 'sent')
    })

    it('says what §10 says: the conversation name or the sender, the text cut to 180 characters, the total unread count', async () => {
      const tenant = await w.tenant()
      await tenant.users('ann', 'carol')
      await tenant.call('POST', '/v1/users', { id: 'nameless' })
      const [apns, fcm, webpush] = [await tenant.device('carol', 'apns'), await tenant.device('carol', 'fcm'), await tenant.device('carol', 'webpush')]
      // Two unread messages elsewhere, one of them deleted (not counted), and carol's own (not counted).
      const elsewhere = await tenant.group(['ann', 'carol'])
      await tenant.send(elsewhere, 'ann', 'one')
      const deleted = await tenant.send(elsewhere, 'ann', 'two')
      await tenant.call('DELETE', `/v1/conversations/${elsewhere}/messages/${deleted.id}`)
      await tenant.send(elsewhere, 'carol', 'mine')
      await tenant.send(elsewhere, 'ann', 'three')
      await tenant.logged(2 * 3, (r) => r.status !== 'pending')

      const long = `${'é'.repeat(170)}${'🎉'.repeat(20)}`
      const named = await tenant.group(['ann', 'carol'], { name: 'Design review' })
      const message = await tenant.send(named, 'ann', long)
      await tenant.logged(3, (r) => r.messageId === message.id && r.status === 'sent')
      const body = `${'é'.repeat(170)}${'🎉'.repeat(9)}…`
      expect(Array.from(body)).toHaveLength(180)
      const unread = (await tenant.call('GET', '/v1/me/unread', undefined, await tenant.token('carol'))).body.total
      expect(unread).toBe(3)

      const [apnsRequest] = requestsTo(w, tenant, apns).filter((r) => r.body.parley.messageId === message.id)
      expect(apnsRequest.body).toEqual({
        aps: { alert: { title: 'Design review', body }, badge: 3, sound: 'default', 'thread-id': named },
        parley: { conversationId: named, messageId: message.id, seq: 1 },
      })
      expect(apnsRequest.headers).toMatchObject({ 'apns-push-type': 'alert', 'apns-topic': 'com.example.chat', 'apns-collapse-id': message.id })
      const [fcmRequest] = requestsTo(w, tenant, fcm).filter((r) => r.body.message.data.messageId === message.id)
      expect(fcmRequest.body).toEqual({
        message: { token: fcm.token, notification: { title: 'Design review', body }, data: { conversationId: named, messageId: message.id, seq: '1', unread: '3' } },
      })
      const [webRequest] = requestsTo(w, tenant, webpush).filter((r) => r.payload?.messageId === message.id)
      expect(webRequest.payload).toEqual({ title: 'Design review', body, conversationId: named, messageId: message.id, seq: 1, unread: 3 })

      // No name: the sender's display name, else its id.
      const unnamed = await tenant.group(['ann', 'carol', 'nameless'])
      const fromAnn = await tenant.send(unnamed, 'ann', 'short')
      const fromNameless = await tenant.send(unnamed, 'nameless', 'shorter')
      await tenant.logged(6, (r) => [fromAnn.id, fromNameless.id].includes(r.messageId) && r.status === 'sent')
      const titles = (id: string) => requestsTo(w, tenant, apns).filter((r) => r.body.parley.messageId === id).map((r) => r.body.aps.alert)
      expect(titles(fromAnn.id)).toEqual([{ title: 'Ann', body: 'short' }])
      expect(titles(fromNameless.id)).toEqual([{ title: 'nameless', body: 'shorter' }])
    })

    it('counts in the badge at most UNREAD_WINDOW unread messages of each conversation (docs/push.md)', async () => {
      const tenant = await w.tenant()
      await tenant.users('ann', 'carol')
      const busy = await tenant.group(['ann', 'carol'])
      // Before carol has a device: nothing is pushed, but all of it is unread.
      for (let i = 0; i < UNREAD_WINDOW + 5; i++) await tenant.send(busy, 'ann', `backlog ${i}`)
      const apns = await tenant.device('carol', 'apns')
      const other = await tenant.group(['ann', 'carol'])
      const message = await tenant.send(other, 'ann', 'and one more')
      await tenant.logged(1, (r) => r.messageId === message.id && r.status === 'sent')
      const unread = (await tenant.call('GET', '/v1/me/unread', undefined, await tenant.token('carol'))).body.total
      expect(unread).toBe(UNREAD_WINDOW + 6)
      const [request] = requestsTo(w, tenant, apns).filter((r) => r.body.parley.messageId === message.id)
      expect(request.body.aps.badge).toBe(UNREAD_WINDOW + 1)
    })

    it('sends nothing to a member who muted the conversation, until `until` or until unmuted', async () => {
      const tenant = await w.tenant()
      await tenant.users('ann', 'carol', 'dave')
      const carol = await tenant.device('carol', 'fcm')
      const dave = await tenant.device('dave', 'fcm')
      const conversation = await tenant.group(['ann', 'carol', 'dave'])
      const carolToken = await tenant.token('carol')

      const until = new Date(Date.now() + 1500).toISOString()
      expect((await tenant.call('PUT', `/v1/conversations/${conversation}/mute`, { until }, carolToken)).status).toBe(204)
      const muted = await tenant.send(conversation, 'ann', 'while muted')
      await tenant.logged(1, (r) => r.messageId === muted.id && r.status === 'sent')
      await sleep(SETTLE_MS)
      expect(requestsTo(w, tenant, carol)).toHaveLength(0)
      expect(requestsTo(w, tenant, dave)).toHaveLength(1)

      await sleep(Date.parse(until) - Date.now() + 50)
      const after = await tenant.send(conversation, 'ann', 'mute over')
      await tenant.logged(2, (r) => r.messageId === after.id && r.status === 'sent')
      expect(requestsTo(w, tenant, carol)).toHaveLength(1)

      // Muted without `until`: until unmuted.
      expect((await tenant.call('PUT', `/v1/conversations/${conversation}/mute`, undefined, carolToken)).status).toBe(204)
      const silent = await tenant.send(conversation, 'ann', 'muted for good')
      await tenant.logged(1, (r) => r.messageId === silent.id && r.status === 'sent')
      expect((await tenant.call('DELETE', `/v1/conversations/${conversation}/mute`, undefined, carolToken)).status).toBe(204)
      const loud = await tenant.send(conversation, 'ann', 'unmuted')
      await tenant.logged(2, (r) => r.messageId === loud.id && r.status === 'sent')
      await sleep(SETTLE_MS)
      expect(requestsTo(w, tenant, carol)).toHaveLength(2)
      expect((await tenant.log('carol')).map((r) => r.messageId).sort()).toEqual([after.id, loud.id].sort())
    })

    it('sends nothing for an edit or a deletion', async () => {
      const tenant = await w.tenant()
      await tenant.users('ann', 'carol')
      const device = await tenant.device('carol', 'apns')
      const conversation = await tenant.group(['ann', 'carol'])
      const first = await tenant.send(conversation, 'ann', 'first')
      await tenant.logged(1, (r) => r.status === 'sent')
      expect((await tenant.call('PATCH', `/v1/conversations/${conversation}/messages/${first.id}`, { text: 'first, edited' })).status).toBe(200)
      expect((await tenant.call('DELETE', `/v1/conversations/${conversation}/messages/${first.id}`)).status).toBe(204)
      // A later message is pushed: the edit and the deletion before it were read, and sent nothing.
      const second = await tenant.send(conversation, 'ann', 'second')
      await tenant.logged(1, (r) => r.messageId === second.id && r.status === 'sent')
      await sleep(SETTLE_MS)
      expect(requestsTo(w, tenant, device).map((r) => r.body.parley.messageId)).toEqual([first.id, second.id])
    })

    it('pushes a message edited before its push was queued with its new text, and one deleted by then not at all', async () => {
      const tenant = await w.tenant()
      await tenant.users('ann', 'carol')
      const device = await tenant.device('carol', 'fcm')
      const conversation = await tenant.group(['ann', 'carol'])
      // The fan-out is held back (as behind a backlog) while the messages change.
      const { fanout } = w.t.parley.services.push
      await fanout.stop()
      try {
        const edited = await tenant.send(conversation, 'ann', 'tpyo')
        const deleted = await tenant.send(conversation, 'ann', 'oops')
        await tenant.call('PATCH', `/v1/conversations/${conversation}/messages/${edited.id}`, { text: 'typo' })
        await tenant.call('DELETE', `/v1/conversations/${conversation}/messages/${deleted.id}`)
      } finally {
        ;(fanout as unknown as { stopped: boolean }).stopped = false
        fanout.start()
      }
      await tenant.logged(1, (r) => r.status === 'sent')
      await sleep(SETTLE_MS)
      expect(requestsTo(w, tenant, device).map((r) => r.body.message.notification.body)).toEqual(['typo'])
    })

    it('gives devices of a provider that is not configured nothing', async () => {
      const tenant = await w.tenant()
      await tenant.users('ann', 'carol')
      const apns = await tenant.device('carol', 'apns')
      const fcm = await tenant.device('carol', 'fcm')
      expect((await tenant.call('DELETE', '/v1/push/providers/fcm')).status).toBe(204)
      const conversation = await tenant.group(['ann', 'carol'])
      await tenant.send(conversation, 'ann', 'only to iOS')
      await tenant.logged(1, (r) => r.status === 'sent')
      await sleep(SETTLE_MS)
      expect(requestsTo(w, tenant, apns)).toHaveLength(1)
      expect(requestsTo(w, tenant, fcm)).toHaveLength(0)
      expect(await tenant.log()).toHaveLength(1)
    })

    it('sends nothing in the test environment, and logs the exact payload of each device', async () => {
      const tenant = await w.tenant('test')
      await tenant.users('ann', 'carol')
      const [apns, fcm, webpush] = [await tenant.device('carol', 'apns'), await tenant.device('carol', 'fcm'), await tenant.device('carol', 'webpush')]
      const conversation = await tenant.group(['ann', 'carol'], { name: 'Sandbox' })
      const message = await tenant.send(conversation, 'ann', 'not for real')
      const log = await tenant.logged(3)
      await sleep(SETTLE_MS)
      for (const device of [apns, fcm, webpush]) expect(requestsTo(w, tenant, device)).toHaveLength(0)

      const byDevice = new Map(log.map((r) => [r.deviceId, r]))
      const common = { userId: 'carol', messageId: message.id, conversationId: conversation, status: 'test', attempt: 0, responseStatus: null }
      expect(byDevice.get(apns.id)).toMatchObject({
        ...common,
        provider: 'apns',
        payload: {
          aps: { alert: { title: 'Sandbox', body: 'not for real' }, badge: 1, sound: 'default', 'thread-id': conversation },
          parley: { conversationId: conversation, messageId: message.id, seq: 1 },
        },
      })
      expect(byDevice.get(fcm.id)).toMatchObject({
        ...common,
        provider: 'fcm',
        payload: { message: { token: fcm.token, notification: { title: 'Sandbox', body: 'not for real' }, data: { conversationId: conversation, messageId: message.id, seq: '1', unread: '1' } } },
      })
      expect(byDevice.get(webpush.id)).toMatchObject({
        ...common,
        provider: 'webpush',
        payload: { title: 'Sandbox', body: 'not for real', conversationId: conversation, messageId: message.id, seq: 1, unread: 1 },
      })
      // Nothing of the test environment shows in live, and the reverse.
      expect((await tenant.call('GET', '/v1/push/deliveries', undefined, tenant.otherKey)).body.data).toEqual([])
    })
  })
}
