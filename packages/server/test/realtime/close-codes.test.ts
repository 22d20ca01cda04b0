/**
 * Every close code of API.md §6 that a client can provoke, each on a real socket: 4001, 4002,
 * 4003, 4008, 4400, 4500, 1009 and 1012.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld } from '../helpers/chat-world.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { connect, listeningWorld, refusedUpgrade, shortLivedToken, sleep, waitFor } from '../helpers/realtime.js'
import { claimsFor, signWithParleyKey } from '../helpers/session-helpers.js'
import { openSocket } from '../helpers/sockets.js'

let t: TestParley
let world: ChatWorld
let url: string

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld())
})
afterAll(() => t.close())

describe('4001 unauthorized', () => {
  it('closes a socket whose first frame carries a bad token', async () => {
    const socket = await openSocket(url)
    socket.send({ type: 'auth', token: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' })
    expect(await socket.closed()).toBe(4001)
    expect(socket.frames).toEqual([])
  })

  it('closes a socket whose first frame is not auth, even a valid frame', async () => {
    const socket = await openSocket(url)
    socket.send({ type: 'ping', id: 1 })
    expect(await socket.closed()).toBe(4001)
    expect(socket.frames).toEqual([]) // no pong for an unauthenticated socket

    const garbage = await openSocket(url)
    garbage.send('not json at all')
    expect(await garbage.closed()).toBe(4001)

    const binary = await openSocket(url)
    binary.ws.send(Buffer.from(JSON.stringify({ type: 'auth', token: await world.token('ann') })))
    expect(await binary.closed()).toBe(4001)
  })

  it('closes a socket that sends no auth frame within 10 seconds', async () => {
    const socket = await openSocket(url)
    const opened = Date.now()
    expect(await socket.closed(13_000)).toBe(4001)
    const waited = Date.now() - opened
    expect(waited).toBeGreaterThanOrEqual(9_500)
    expect(waited).toBeLessThan(12_000)
  }, 20_000)
})

describe('4002 token_expired', () => {
  it('warns with token.expiring, then closes with 4002 when the token expires while connected', async () => {
    await world.users('bea')
    const token = await shortLivedToken(t, world.tenant.id, 'bea', 3)
    const socket = await connect(url, token)
    const exp = Date.parse(socket.ready.expiresAt)
    expect(exp - Date.now()).toBeLessThanOrEqual(3000)

    const warning = await socket.next((f) => f.type === 'token.expiring', 2500)
    expect(Date.parse(warning.expiresAt)).toBe(exp)
    expect(await socket.closed(5000)).toBe(4002)
    expect(Date.now()).toBeGreaterThanOrEqual(exp - 100) // not before the token's exp
    expect(socket.frames.map((f) => f.type)).toEqual(['ready', 'token.expiring'])
  }, 10_000)

  it('closes a first-frame token that has already expired with 4002', async () => {
    await world.users('bea')
    const now = Math.floor(Date.now() / 1000)
    const expired = await signWithParleyKey(t, claimsFor(t, world.tenant.id, 'bea', { iat: now - 600, exp: now - 120 }))
    const socket = await openSocket(url)
    socket.send({ type: 'auth', token: expired })
    expect(await socket.closed()).toBe(4002)
  })
})

describe('4003 token_revoked', () => {
  it('closes every socket of a user whose tokens are revoked, and only those', async () => {
    const token = await world.token('cid')
    const other = await connect(url, await world.token('cat'))
    const viaFrame = await openSocket(url)
    viaFrame.send({ type: 'auth', token })
    await viaFrame.next((f) => f.type === 'ready')
    const sockets = [await connect(url, token), await connect(url, token), viaFrame]
    expect((await world.secret('POST', '/v1/users/cid/revoke-tokens')).status).toBe(204)
    for (const socket of sockets) expect(await socket.closed()).toBe(4003)
    other.send({ type: 'ping', id: 'still-here' })
    expect((await other.next((f) => f.type === 'pong')).id).toBe('still-here')
    other.close()
    // A token minted after the revocation works.
    const after = await connect(url, await world.token('cid'))
    expect(after.ready.user.id).toBe('cid')
    after.close()
  })

  it('closes a deleted user’s sockets with 4003', async () => {
    const socket = await connect(url, await world.token('dee'))
    expect((await world.secret('DELETE', '/v1/users/dee')).status).toBe(204)
    expect(await socket.closed()).toBe(4003)
  })

  it('closes a secret-key socket with 4003 when its key is revoked', async () => {
    const created = await world.secret('POST', '/v1/keys', { name: 'events', type: 'secret', scopes: ['events:read'] })
    expect(created.status).toBe(201)
    const socket = await connect(url, created.body.key)
    const otherKey = await connect(url, world.key)
    expect((await world.secret('POST', `/v1/keys/${created.body.id}/revoke`)).status).toBe(200)
    expect(await socket.closed()).toBe(4003)
    await sleep(50)
    expect(otherKey.ws.readyState).toBe(otherKey.ws.OPEN)
    otherKey.close()
    // And the revoked key cannot come back.
    expect((await refusedUpgrade(url, { authorization: `Bearer ${created.body.key}` })).status).toBe(401)
  })
})

describe('4008 rate_limited', () => {
  it('closes a socket that floods frames beyond its budget, after answering the burst', async () => {
    const socket = await connect(url, await world.token('eve'))
    for (let i = 0; i < 200; i++) socket.send({ type: 'ping', id: i })
    expect(await socket.closed()).toBe(4008)
    const pongs = socket.frames.filter((f) => f.type === 'pong').length
    expect(pongs).toBeGreaterThanOrEqual(40) // the burst is served…
    expect(pongs).toBeLessThan(200) // …the flood is not
  })

  it('does not close a socket that stays within the steady rate', async () => {
    const socket = await connect(url, await world.token('eve'))
    for (let i = 0; i < 60; i++) {
      socket.send({ type: 'ping', id: i })
      await sleep(60) // ~16 frames per second, under the refill rate of 20
    }
    await socket.next((f) => f.type === 'pong' && f.id === 59)
    expect(socket.ws.readyState).toBe(socket.ws.OPEN)
    socket.close()
  }, 10_000)
})

describe('4400 bad_frame and 1009 too big', () => {
  it('closes with 4400 on a binary frame', async () => {
    const socket = await connect(url, await world.token('fay'))
    socket.ws.send(Buffer.from(JSON.stringify({ type: 'ping' })))
    expect(await socket.closed()).toBe(4400)
  })

  it('closes with 1009 on a frame over 64 KiB, and accepts one just under', async () => {
    const socket = await connect(url, await world.token('fay'))
    const padding = 'x'.repeat(64 * 1024 - 64)
    socket.send({ type: 'ping', id: 'fits', padding })
    expect((await socket.next((f) => f.type === 'pong')).id).toBe('fits')
    socket.send({ type: 'ping', id: 'too big', padding: 'x'.repeat(64 * 1024 + 1) })
    expect(await socket.closed()).toBe(1009)
  })
})

describe('4500 forbidden', () => {
  it('closes user and secret-key sockets of a tenant the operator suspends, and refuses new ones', async () => {
    const other = await chatWorld(t)
    const userToken = await other.token('gus')
    const user = await connect(url, userToken)
    const secret = await connect(url, other.key)
    const bystander = await connect(url, await world.token('gil'))

    const res = await t.call('PATCH', `/v1/admin/tenants/${other.tenant.id}`, { auth: t.adminKey, body: { suspended: true } })
    expect(res.status).toBe(200)
    expect(await user.closed()).toBe(4500)
    expect(await secret.closed()).toBe(4500)

    const refused = await refusedUpgrade(url, { authorization: `Bearer ${userToken}` })
    expect(refused.status).toBe(403)
    expect(refused.body.code).toBe('forbidden')
    const firstFrame = await openSocket(url)
    firstFrame.send({ type: 'auth', token: userToken })
    expect(await firstFrame.closed()).toBe(4500)

    bystander.send({ type: 'ping', id: 'other tenant' })
    expect((await bystander.next((f) => f.type === 'pong')).id).toBe('other tenant')
    bystander.close()
  })
})

describe('1012 restarting', () => {
  it('closes every open socket with 1012 on graceful shutdown', async () => {
    const own = await startParley()
    let closed = false
    try {
      const ownWorld = await chatWorld(own)
      const ownUrl = await own.parley.app.listen({ port: 0, host: '127.0.0.1' })
      const user = await connect(ownUrl, await ownWorld.token('hal'))
      const secret = await connect(ownUrl, ownWorld.key)
      const pending = await openSocket(ownUrl) // not yet authenticated
      await waitFor(() => own.parley.services.gateway.openSockets === 2)

      const shutdown = own.close()
      closed = true
      expect(await user.closed()).toBe(1012)
      expect(await secret.closed()).toBe(1012)
      expect(await pending.closed()).toBeOneOf([1012, 1006])
      await shutdown
      expect(own.parley.services.gateway.openSockets).toBe(0)
    } finally {
      if (!closed) await own.close()
    }
  })
})
