/**
 * Presence across nodes (API.md §10 "no open realtime socket on any node"): two Parley nodes on one
 * PostgreSQL and one Redis. A member connected to node B gets no push for a message sent through
 * node A; once that socket closes, it does.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresUrl, redisUrl } from '../helpers/databases.js'
import { type TestParley, withTwoNodes } from '../helpers/parley.js'
import { connect } from '../helpers/realtime.js'
import { sleep } from '../helpers/wait.js'
import { type ApnsFake, makeApnsKey, startApnsFake } from './fakes/apns.js'

describe.runIf(postgresUrl && redisUrl)('push on two nodes (PostgreSQL and Redis)', () => {
  const key = makeApnsKey()
  const settings = { teamId: 'TEAM123456', keyId: 'KEY1234567', bundleId: 'com.example.chat', production: false, privateKey: key.privateKey }
  let apns: ApnsFake
  beforeAll(async () => {
    apns = await startApnsFake({ publicKey: key.publicKey, teamId: settings.teamId, keyId: settings.keyId, bundleId: settings.bundleId })
  })
  afterAll(() => apns?.close())

  /** Waits until `node` sees the user online (its socket is on the other node). */
  async function seenOnline(node: TestParley, tenantId: string, userId: string, online: boolean): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const found = await node.parley.services.presence.online({ tenantId, environment: 'live' }, [userId])
      if (found.has(userId) === online) return
      await sleep(20)
    }
    throw new Error(`${userId} never ${online ? 'online' : 'offline'}`)
  }

  it('sends no push to a member connected to node B for a message sent through node A', { timeout: 60_000 }, async () => {
    const env = {
      PARLEY_REDIS_URL: redisUrl!,
      PARLEY_REDIS_PREFIX: `parley-push-${randomBytes(6).toString('hex')}:`,
      // One KEK for both nodes: provider keys sealed on one are read on the other.
      PARLEY_SIGNING_KEK: randomBytes(32).toString('base64'),
      PARLEY_APNS_URL: apns.url,
    }
    await withTwoNodes(async (a, b) => {
      const tenant = await a.createTenant()
      const call = (node: TestParley, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) => node.call(method, url, { auth: tenant.liveKey, body })
      expect((await call(a, 'PUT', '/v1/push/providers/apns', settings)).status).toBe(200)
      const tokens: Record<string, string> = {}
      for (const user of ['ann', 'bob', 'carol']) {
        await call(a, 'POST', '/v1/users', { id: user })
        tokens[user] = randomBytes(32).toString('hex')
        expect((await call(b, 'POST', `/v1/users/${user}/devices`, { provider: 'apns', token: tokens[user] })).status).toBe(201)
      }
      const conversation = (await call(a, 'POST', '/v1/conversations', { type: 'group', members: ['ann', 'bob', 'carol'] })).body.id
      const bobToken = (await call(a, 'POST', '/v1/auth/token', { userId: 'bob' })).body.token

      const urlB = await b.parley.app.listen({ port: 0, host: '127.0.0.1' })
      const bob = await connect(urlB, bobToken)
      await seenOnline(a, tenant.id, 'bob', true)
      const first = (await call(a, 'POST', `/v1/conversations/${conversation}/messages`, { senderId: 'ann', text: 'bob is on B' })).body
      await bob.next((f) => f.event === 'message.created' && f.data.id === first.id)
      await waitForRequest(tokens.carol!, first.id)
      await sleep(300)
      expect(apns.requests.filter((r) => r.deviceToken === tokens.bob)).toEqual([])
      expect(apns.requests.filter((r) => r.deviceToken === tokens.ann)).toEqual([])

      // Bob leaves B: the next message through A reaches his phone.
      bob.close()
      await bob.closed()
      await seenOnline(a, tenant.id, 'bob', false)
      const second = (await call(a, 'POST', `/v1/conversations/${conversation}/messages`, { senderId: 'ann', text: 'bob is gone' })).body
      await waitForRequest(tokens.bob!, second.id)
      // Whichever node sent them, the log is one: each notification once.
      const log = (await call(b, 'GET', '/v1/push/deliveries')).body.data
      expect(log.map((r: any) => `${r.userId} ${r.messageId}`).sort()).toEqual([`bob ${second.id}`, `carol ${first.id}`, `carol ${second.id}`].sort())
    }, env)
  })

  async function waitForRequest(token: string, messageId: string): Promise<void> {
    for (let i = 0; i < 500; i++) {
      if (apns.requests.some((r) => r.deviceToken === token && r.headers['apns-collapse-id'] === messageId)) return
      await sleep(20)
    }
    throw new Error(`no push for ${messageId}`)
  }
})
