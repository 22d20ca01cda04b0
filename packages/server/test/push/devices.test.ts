/**
 * Devices (API.md §10) on every engine: registered by a user with its session token or by the
 * tenant with a secret key, idempotent by token, moving between users, at most 25 per user (the
 * 26th replaces the least recently used, registered or pushed to), gone with their user, invisible
 * to other tenants and environments, refused to visitors; and mutes, for members only.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES } from '../helpers/databases.js'
import { expectProblem } from '../helpers/problems.js'
import { sleep } from '../helpers/wait.js'
import { type PushWorld, startPushWorld } from './world.js'

const apnsToken = () => randomBytes(32).toString('hex')

for (const engine of ENGINES) {
  describe(`devices, on ${engine}`, () => {
    let w: PushWorld
    beforeAll(async () => (w = await startPushWorld({ engine })))
    afterAll(() => w?.close())

    it('registers a user’s own device with its session token: 201, then 200 for the same token, listed once, deleted', async () => {
      const tenant = await w.tenant()
      await tenant.users('carol')
      const carol = await tenant.token('carol')
      const token = apnsToken()
      const first = await tenant.call('POST', '/v1/me/devices', { provider: 'apns', token }, carol)
      expect(first.status, first.text).toBe(201)
      expect(first.body).toEqual({ id: expect.stringMatching(/^dev_[0-9A-Za-z]{22}$/), provider: 'apns', platform: 'ios', createdAt: expect.any(String), lastUsedAt: first.body.createdAt })
      // The same token again (in capitals: hex is hex): the same device.
      const again = await tenant.call('POST', '/v1/me/devices', { provider: 'apns', token: token.toUpperCase() }, carol)
      expect(again.status).toBe(200)
      expect(again.body.id).toBe(first.body.id)
      expect(Date.parse(again.body.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(first.body.lastUsedAt))

      const fcm = await tenant.call('POST', '/v1/me/devices', { provider: 'fcm', token: `fcm:${randomBytes(20).toString('base64url')}` }, carol)
      expect(fcm.body).toMatchObject({ provider: 'fcm', platform: 'android' })
      const listed = await tenant.call('GET', '/v1/me/devices', undefined, carol)
      expect(listed.body.data.map((d: any) => d.id).sort()).toEqual([first.body.id, fcm.body.id].sort())
      // The tenant sees the same devices, and never a token.
      const bySecret = await tenant.call('GET', '/v1/users/carol/devices')
      expect(bySecret.body).toEqual(listed.body)
      expect(JSON.stringify(bySecret.body)).not.toContain(token)

      expect((await tenant.call('DELETE', `/v1/me/devices/${first.body.id}`, undefined, carol)).status).toBe(204)
      expectProblem(await tenant.call('DELETE', `/v1/me/devices/${first.body.id}`, undefined, carol), 404, 'not_found')
      expect((await tenant.call('DELETE', `/v1/users/carol/devices/${fcm.body.id}`)).status).toBe(204)
      expect((await tenant.call('GET', '/v1/me/devices', undefined, carol)).body.data).toEqual([])
    })

    it('moves a token registered by another user to the new one (201, a new id)', async () => {
      const tenant = await w.tenant()
      await tenant.users('bob', 'carol')
      const subscription = tenant.webpush.subscribe().subscription
      const carols = await tenant.call('POST', '/v1/users/carol/devices', { provider: 'webpush', subscription })
      expect(carols.status).toBe(201)
      expect(carols.body.platform).toBe('web')
      const bobs = await tenant.call('POST', '/v1/me/devices', { provider: 'webpush', subscription }, await tenant.token('bob'))
      expect(bobs.status).toBe(201)
      expect(bobs.body.id).not.toBe(carols.body.id)
      expect((await tenant.call('GET', '/v1/users/carol/devices')).body.data).toEqual([])
      expect((await tenant.call('GET', '/v1/users/bob/devices')).body.data.map((d: any) => d.id)).toEqual([bobs.body.id])
      // Carol's id for it is gone with it.
      expectProblem(await tenant.call('DELETE', `/v1/users/carol/devices/${carols.body.id}`), 404, 'not_found')
    })

    it('keeps 25 devices per user: the 26th replaces the least recently registered or pushed to', async () => {
      const tenant = await w.tenant()
      await tenant.users('ann', 'carol')
      const pushed = await tenant.device('carol', 'apns')
      await sleep(2)
      const fcm: string[] = []
      for (let i = 0; i < 24; i++) {
        fcm.push((await tenant.device('carol', 'fcm')).id)
        await sleep(2)
      }
      // The oldest device is pushed to (FCM is off, so it is the only one): it is used now.
      expect((await tenant.call('DELETE', '/v1/push/providers/fcm')).status).toBe(204)
      await tenant.send(await tenant.group(['ann', 'carol']), 'ann', 'to the iPhone')
      await tenant.logged(1, (r) => r.status === 'sent')
      await sleep(2)
      // Registered again: the second oldest FCM device is used now too.
      const reRegistered = await tenant.call('POST', '/v1/users/carol/devices', { provider: 'fcm', token: (await deviceToken(fcm[1]!)) })
      expect(reRegistered.status).toBe(200)
      await sleep(2)

      const newest = await tenant.device('carol', 'webpush')
      const left = (await tenant.call('GET', '/v1/users/carol/devices')).body.data.map((d: any) => d.id)
      expect(left).toHaveLength(25)
      expect(left).toContain(newest.id)
      expect(left).toContain(pushed.id)
      expect(left).toContain(fcm[1])
      expect(left).not.toContain(fcm[0])
      expect(left[0]).toBe(newest.id)

      /** A device's token, as stored (the API never shows it). */
      async function deviceToken(id: string): Promise<string> {
        const row = await w.t.parley.store.db.selectFrom('push_devices').select('token').where('id', '=', id).executeTakeFirstOrThrow()
        return row.token
      }
    })

    it('deletes a user’s devices, mutes and push log with the user', async () => {
      const tenant = await w.tenant()
      await tenant.users('ann', 'carol')
      const device = await tenant.device('carol', 'apns')
      const conversation = await tenant.group(['ann', 'carol'])
      await tenant.send(conversation, 'ann', 'before')
      await tenant.logged(1, (r) => r.status === 'sent')
      await tenant.call('PUT', `/v1/conversations/${conversation}/mute`, {}, await tenant.token('carol'))

      expect((await tenant.call('DELETE', '/v1/users/carol')).status).toBe(204)
      await tenant.users('carol')
      expect((await tenant.call('GET', '/v1/users/carol/devices')).body.data).toEqual([])
      expect(await tenant.log('carol')).toEqual([])
      const db = w.t.parley.store.db
      expect(await db.selectFrom('push_devices').select('id').where('id', '=', device.id).execute()).toEqual([])
      expect(await db.selectFrom('push_mutes').select('user_id').where('tenant_id', '=', tenant.id).where('user_id', '=', 'carol').execute()).toEqual([])
    })

    it('refuses visitors: their own devices (403 forbidden), and devices of a visitor through the secret key', async () => {
      const tenant = await w.tenant()
      const publishable = (await tenant.call('POST', '/v1/keys', { name: 'widget', type: 'publishable' })).body.key
      const opened = await w.t.call('POST', '/v1/identity/init', { body: { apiKey: publishable, visitorId: `device-${randomBytes(8).toString('hex')}` } })
      const { sessionToken, visitor } = opened.body
      expectProblem(await tenant.call('POST', '/v1/me/devices', { provider: 'apns', token: apnsToken() }, sessionToken), 403, 'forbidden')
      expectProblem(await tenant.call('GET', '/v1/me/devices', undefined, sessionToken), 403, 'forbidden')
      expectProblem(await tenant.call('DELETE', '/v1/me/devices/dev_x', undefined, sessionToken), 403, 'forbidden')
      expectProblem(await tenant.call('POST', `/v1/users/${visitor.id}/devices`, { provider: 'apns', token: apnsToken() }), 403, 'forbidden')
      expect(await w.t.parley.store.db.selectFrom('push_devices').select('id').where('tenant_id', '=', tenant.id).execute()).toEqual([])
    })

    it('answers 404 for another tenant’s or environment’s device, and for an unknown user', async () => {
      const a = await w.tenant()
      const b = await w.tenant()
      for (const tenant of [a, b]) await tenant.users('carol')
      const device = await a.device('carol', 'apns')
      expectProblem(await b.call('DELETE', `/v1/users/carol/devices/${device.id}`), 404, 'not_found')
      expectProblem(await b.call('DELETE', `/v1/me/devices/${device.id}`, undefined, await b.token('carol')), 404, 'not_found')
      expect((await b.call('GET', '/v1/users/carol/devices')).body.data).toEqual([])
      // A's other environment has no such user, and no such device.
      expectProblem(await a.call('DELETE', `/v1/users/carol/devices/${device.id}`, undefined, a.otherKey), 404, 'not_found')
      expectProblem(await a.call('GET', '/v1/users/carol/devices', undefined, a.otherKey), 404, 'not_found')
      expectProblem(await a.call('POST', '/v1/users/nobody/devices', { provider: 'apns', token: apnsToken() }), 404, 'not_found')
      // Still A's.
      expect((await a.call('GET', '/v1/users/carol/devices')).body.data.map((d: any) => d.id)).toEqual([device.id])
    })

    it('refuses malformed devices with 400 validation_failed naming the field', async () => {
      const tenant = await w.tenant()
      await tenant.users('carol')
      const register = (body: unknown) => tenant.call('POST', '/v1/users/carol/devices', body)
      const subscription = tenant.webpush.subscribe().subscription
      const cases: [unknown, string][] = [
        [{ provider: 'apns', token: 'not hex at all' }, 'token'],
        [{ provider: 'apns' }, 'token'],
        [{ provider: 'fcm', token: 'has spaces in it, which no FCM token has' }, 'token'],
        [{ provider: 'fcm', subscription }, 'subscription'],
        [{ provider: 'webpush', token: apnsToken() }, 'token'],
        [{ provider: 'webpush' }, 'subscription'],
        [{ provider: 'webpush', subscription: { ...subscription, keys: { ...subscription.keys, auth: 'c2hvcnQ' } } }, 'subscription.keys.auth'],
        [{ provider: 'webpush', subscription: { ...subscription, keys: { ...subscription.keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } } }, 'subscription.keys.p256dh'],
        [{ provider: 'webpush', subscription: { ...subscription, endpoint: 'ftp://push.example.com/x' } }, 'subscription.endpoint'],
      ]
      for (const [body, param] of cases) {
        const res = await register(body)
        expectProblem(res, 400, 'validation_failed')
        expect(res.body.errors.map((e: any) => e.param), JSON.stringify(body)).toContain(param)
      }
      for (const body of [{ provider: 'sms', token: 'x' }, { provider: 'apns', token: apnsToken(), platform: 'ios' }]) expectProblem(await register(body), 400, 'validation_failed')
      expect((await tenant.call('GET', '/v1/users/carol/devices')).body.data).toEqual([])
    })

    it('lets members alone mute a conversation', async () => {
      const tenant = await w.tenant()
      await tenant.users('ann', 'carol', 'outsider')
      const conversation = await tenant.group(['ann', 'carol'])
      const outsider = await tenant.token('outsider')
      expectProblem(await tenant.call('PUT', `/v1/conversations/${conversation}/mute`, {}, outsider), 403, 'forbidden')
      expectProblem(await tenant.call('DELETE', `/v1/conversations/${conversation}/mute`, undefined, outsider), 403, 'forbidden')
      expectProblem(await tenant.call('PUT', '/v1/conversations/conv_missing/mute', {}, outsider), 404, 'not_found')
      const carol = await tenant.token('carol')
      expectProblem(await tenant.call('PUT', `/v1/conversations/${conversation}/mute`, { until: 'tomorrow' }, carol), 400, 'validation_failed')
      expectProblem(await tenant.call('PUT', `/v1/conversations/${conversation}/mute`, { forever: true }, carol), 400, 'validation_failed')
      expect((await tenant.call('PUT', `/v1/conversations/${conversation}/mute`, { until: '2099-01-01T00:00:00Z' }, carol)).status).toBe(204)
      const [row] = await w.t.parley.store.db.selectFrom('push_mutes').selectAll().where('tenant_id', '=', tenant.id).execute()
      expect(row).toMatchObject({ conversation_id: conversation, user_id: 'carol', until: '2099-01-01T00:00:00.000Z' })
    })
  })
}
