/**
 * Provider settings (API.md §10): set, listed with their public fields only, replaced (a change
 * takes effect from the next push), deleted; private keys sealed at rest, never returned, never
 * logged, never echoed in an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { capturedLogs } from '../helpers/parley.js'
import { expectProblem } from '../helpers/problems.js'
import { makeApnsKey } from './fakes/apns.js'
import { makeServiceAccount } from './fakes/fcm.js'
import { type PushWorld, requestsTo, startPushWorld } from './world.js'

let w: PushWorld
beforeAll(async () => (w = await startPushWorld()))
afterAll(() => w?.close())

/** The base64 body of a PEM, the part that is the key. */
const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')

describe('providers', () => {
  it('are set, listed with their public fields (never a private key), and deleted', async () => {
    const tenant = await w.tenant()
    const listed = await tenant.call('GET', '/v1/push/providers')
    expect(listed.status).toBe(200)
    const byType = Object.fromEntries(listed.body.data.map((p: any) => [p.type, p]))
    expect(Object.keys(byType)).toEqual(['apns', 'fcm', 'webpush'])
    const { privateKey: _p8, ...apnsPublic } = w.apnsSettings
    expect(byType.apns).toEqual({ type: 'apns', configured: true, updatedAt: expect.any(String), ...apnsPublic })
    const { private_key: _rsa, ...account } = w.serviceAccount
    expect(byType.fcm).toEqual({ type: 'fcm', configured: true, updatedAt: expect.any(String), serviceAccount: account })
    expect(byType.webpush).toEqual({ type: 'webpush', configured: true, updatedAt: expect.any(String), subject: 'mailto:ops@example.com', publicKey: expect.stringMatching(/^[A-Za-z0-9_-]{87}$/) })
    expect(Buffer.from(byType.webpush.publicKey, 'base64url')[0]).toBe(0x04)

    // Per environment: the other one has none.
    expect((await tenant.call('GET', '/v1/push/providers', undefined, tenant.otherKey)).body.data).toEqual([])
    expect((await tenant.call('DELETE', '/v1/push/providers/apns')).status).toBe(204)
    expectProblem(await tenant.call('DELETE', '/v1/push/providers/apns'), 404, 'not_found')
    expectProblem(await tenant.call('DELETE', '/v1/push/providers/sms'), 404, 'not_found')
    expect((await tenant.call('GET', '/v1/push/providers')).body.data.map((p: any) => p.type)).toEqual(['fcm', 'webpush'])
  })

  it('keeps the VAPID key pair when Web Push is set again (browsers subscribed with it), and makes a new one after a delete', async () => {
    const tenant = await w.tenant()
    const first = (await tenant.call('GET', '/v1/push/providers')).body.data.find((p: any) => p.type === 'webpush')
    const again = await tenant.call('PUT', '/v1/push/providers/webpush', { subject: 'https://example.com/contact' })
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ type: 'webpush', subject: 'https://example.com/contact', publicKey: first.publicKey })
    await tenant.call('DELETE', '/v1/push/providers/webpush')
    const fresh = await tenant.call('PUT', '/v1/push/providers/webpush', { subject: 'mailto:ops@example.com' })
    expect(fresh.body.publicKey).not.toBe(first.publicKey)
  })

  it('takes a change into account from the next push', async () => {
    const tenant = await w.tenant()
    await tenant.users('ann', 'carol')
    const device = await tenant.device('carol', 'apns')
    const conversation = await tenant.group(['ann', 'carol'])
    await tenant.send(conversation, 'ann', 'with the right key')
    await tenant.logged(1, (r) => r.status === 'sent')
    // Another .p8: the fake (Apple) does not know it, and refuses the provider token it signs.
    await tenant.call('PUT', '/v1/push/providers/apns', { ...w.apnsSettings, privateKey: makeApnsKey().privateKey })
    await tenant.send(conversation, 'ann', 'with a key Apple does not know')
    const [refused] = await tenant.logged(1, (r) => r.status === 'failed')
    expect(refused).toMatchObject({ responseStatus: 403, reason: 'InvalidProviderToken' })
    await tenant.call('PUT', '/v1/push/providers/apns', w.apnsSettings)
    await tenant.send(conversation, 'ann', 'right again')
    await tenant.logged(2, (r) => r.status === 'sent')
    expect(requestsTo(w, tenant, device).map((r) => r.status)).toEqual([200, 403, 200])
  })

  it('refuses settings that cannot work with 400 validation_failed naming the field, never echoing a key', async () => {
    const tenant = await w.tenant()
    const rsa = makeServiceAccount().serviceAccount.private_key
    const p8 = makeApnsKey().privateKey
    const cases: [string, unknown, string][] = [
      ['apns', { ...w.apnsSettings, privateKey: rsa }, 'privateKey'],
      ['apns', { ...w.apnsSettings, privateKey: 'not a key' }, 'privateKey'],
      ['apns', { ...w.apnsSettings, teamId: 'team' }, 'teamId'],
      ['apns', { ...w.apnsSettings, production: 'yes' }, 'production'],
      ['apns', { ...w.apnsSettings, extra: 1 }, ''],
      ['fcm', { serviceAccount: { ...w.serviceAccount, private_key: p8 } }, 'serviceAccount.private_key'],
      ['fcm', { serviceAccount: { ...w.serviceAccount, client_email: 'nobody' } }, 'serviceAccount.client_email'],
      ['fcm', { serviceAccount: { ...w.serviceAccount, token_uri: 'not a url' } }, 'serviceAccount.token_uri'],
      ['webpush', { subject: 'ftp://example.com' }, 'subject'],
      ['webpush', { subject: 'mailto:ops@example.com', privateKey: 'mine' }, ''],
    ]
    for (const [type, body, param] of cases) {
      const res = await tenant.call('PUT', `/v1/push/providers/${type}`, body)
      expectProblem(res, 400, 'validation_failed')
      if (param) expect(res.body.errors.map((e: any) => e.param), `${type} ${param}`).toContain(param)
      for (const key of [rsa, p8]) expect(res.text).not.toContain(pemBody(key).slice(0, 40))
    }
    // A whole service account key file is accepted as downloaded: its other fields are ignored.
    const file = { type: 'service_account', client_id: '1234', auth_uri: 'https://accounts.google.com/o/oauth2/auth', ...w.serviceAccount }
    const res = await tenant.call('PUT', '/v1/push/providers/fcm', { serviceAccount: file })
    expect(res.status, res.text).toBe(200)
    expect(res.body.serviceAccount).not.toHaveProperty('client_id')
  })
})

describe('private keys', () => {
  it('are nowhere in storage in the clear, nor in any log line', async () => {
    const tenant = await w.tenant()
    await tenant.users('ann', 'carol')
    for (const provider of ['apns', 'fcm', 'webpush'] as const) await tenant.device('carol', provider)
    await tenant.send(await tenant.group(['ann', 'carol']), 'ann', 'hi')
    await tenant.logged(3, (r) => r.status === 'sent')
    const db = w.t.parley.store.db
    const tables = await db.selectFrom('sqlite_master' as any).select('name' as any).where('type' as any, '=', 'table').execute()
    let everything = ''
    for (const { name } of tables as { name: string }[]) everything += JSON.stringify(await db.selectFrom(name as any).selectAll().execute())
    const secrets = [pemBody(w.apnsSettings.privateKey), pemBody(w.serviceAccount.private_key!)]
    // The VAPID private key never left the server: read it back through the seal, to look for it.
    const [stored] = await db.selectFrom('push_providers').selectAll().where('tenant_id', '=', tenant.id).where('type', '=', 'webpush').execute()
    const unsealed = JSON.parse(w.t.parley.services.kek.decrypt(stored!.secret, `push-provider:${tenant.id}:live:webpush`))
    secrets.push(unsealed.privateKey)
    expect(unsealed.privateKey).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const logs = capturedLogs.join('')
    for (const secret of secrets) {
      for (const part of [secret.slice(0, 32), secret.slice(-32)]) {
        expect(everything).not.toContain(part)
        expect(logs).not.toContain(part)
      }
    }
    // What is stored is sealed, and bound to its tenant, environment and provider.
    expect(stored!.secret).toMatch(/^v1\./)
    expect(() => w.t.parley.services.kek.decrypt(stored!.secret, `push-provider:${tenant.id}:test:webpush`)).toThrow()
  })
})
