/**
 * Who a socket is: secret keys with events:read hear every event of their tenant and environment
 * (and nothing else), and `token.refresh` moves a user socket to a new token of the same user only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld } from '../helpers/chat-world.js'
import type { TestParley } from '../helpers/parley.js'
import { connect, eventsOf, listeningWorld, shortLivedToken, sleep, waitFor } from '../helpers/realtime.js'

let t: TestParley
let world: ChatWorld
let url: string

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld())
})
afterAll(() => t.close())

const eventNames = (frames: any[]) => frames.filter((f) => f.type === 'event').map((f) => f.event)

describe('secret-key sockets', () => {
  it('hear every event of their tenant and environment, from any conversation, and nothing else', async () => {
    const a = await chatWorld(t)
    const b = await chatWorld(t)
    await a.users('ann', 'art', 'amos')
    await b.users('ann', 'art')
    const live = await connect(url, a.key)
    const test = await connect(url, a.tenant.testKey)
    const otherTenant = await connect(url, b.key)
    expect(live.ready.user).toBeNull()
    expect(live.ready.expiresAt).toBeNull()

    const first = await a.group(['ann', 'art'])
    const second = await a.group(['art', 'amos'])
    await a.send(first, 'ann', 'one')
    await a.send(second, 'amos', 'two')
    expect((await a.secret('POST', `/v1/conversations/${first}/members`, { userIds: ['amos'] })).status).toBeLessThan(300)
    const message = await a.send(first, 'art', 'three')
    expect((await a.secret('PATCH', `/v1/conversations/${first}/messages/${message.id}`, { text: 'three!' })).status).toBe(200)
    expect((await a.secret('DELETE', `/v1/conversations/${second}`)).status).toBe(204)
    // The same actions in the other tenant, and in the test environment of this one.
    await b.send(await b.group(['ann', 'art']), 'ann', 'elsewhere')
    await t.call('POST', '/v1/users', { auth: a.tenant.testKey, body: { id: 'ann' } })
    const inTest = await t.call('POST', '/v1/conversations', { auth: a.tenant.testKey, body: { type: 'group', members: ['ann'] } })
    expect(inTest.status).toBe(201)

    await live.next((f) => f.event === 'conversation.deleted')
    await test.next((f) => f.event === 'conversation.created')
    await sleep(100)

    const created = eventsOf(live, 'conversation.created').map((f) => f.conversationId)
    expect(created).toEqual([first, second])
    expect(eventsOf(live, 'message.created').map((f) => [f.conversationId, f.data.text])).toEqual([
      [first, 'one'],
      [second, 'two'],
      [first, 'three'],
    ])
    expect(eventsOf(live, 'member.added', first).map((f) => f.data.userId)).toContain('amos')
    expect(eventsOf(live, 'message.updated').map((f) => f.data.text)).toEqual(['three!'])
    expect(eventsOf(live, 'conversation.deleted').map((f) => f.conversationId)).toEqual([second])
    const allConversations = new Set(live.frames.filter((f) => f.conversationId).map((f) => f.conversationId))
    expect([...allConversations].sort()).toEqual([first, second].sort())

    expect(eventNames(test.frames)).toEqual(['user.created', 'conversation.created'])
    expect(test.frames.find((f) => f.event === 'conversation.created').conversationId).toBe(inTest.body.id)
    expect(otherTenant.frames.some((f) => f.conversationId === first || f.conversationId === second)).toBe(false)
    expect(eventsOf(otherTenant, 'message.created').map((f) => f.data.text)).toEqual(['elsewhere'])
    for (const s of [live, test, otherTenant]) s.close()
  })

  it('report the key’s own expiry in ready', async () => {
    const expiresAt = new Date(Date.now() + 3600_000).toISOString()
    const res = await world.secret('POST', '/v1/keys', { name: 'temp', type: 'secret', scopes: ['events:read'], expiresAt })
    expect(res.status).toBe(201)
    const socket = await connect(url, res.body.key)
    expect(socket.ready).toMatchObject({ user: null })
    expect(Math.abs(Date.parse(socket.ready.expiresAt) - Date.parse(expiresAt))).toBeLessThan(1000)
    socket.close()
  })

  it('close with 4002 when their key expires while connected, after token.expiring', async () => {
    const expiresAt = new Date(Date.now() + 3000).toISOString()
    const res = await world.secret('POST', '/v1/keys', { name: 'brief', type: 'secret', scopes: ['events:read'], expiresAt })
    expect(res.status).toBe(201)
    const socket = await connect(url, res.body.key)
    await socket.next((f) => f.type === 'token.expiring', 2500)
    expect(await socket.closed(5000)).toBe(4002)
  }, 10_000)

  it('cannot type or resume: those answer with an error frame and the socket stays', async () => {
    await world.users('cal', 'cam')
    const id = await world.group(['cal', 'cam'])
    const socket = await connect(url, world.key)
    socket.send({ type: 'typing', conversationId: id, state: 'start' })
    expect(await socket.next((f) => f.type === 'error')).toMatchObject({ code: 'forbidden' })
    socket.send({ type: 'resume', positions: { [id]: 0 } })
    await waitFor(() => socket.frames.filter((f) => f.type === 'error').length === 2)
    expect(socket.frames.some((f) => f.type === 'resumed')).toBe(false)
    socket.send({ type: 'ping', id: 'after' })
    expect((await socket.next((f) => f.type === 'pong')).id).toBe('after')
    socket.close()
  })
})

describe('token.refresh', () => {
  it('moves the socket to a new token of the same user: token.refreshed, and it outlives the old token', async () => {
    await world.users('dan', 'dora')
    const id = await world.group(['dan', 'dora'])
    const socket = await connect(url, await shortLivedToken(t, world.tenant.id, 'dan', 3))
    const fresh = await world.token('dan')
    socket.send({ type: 'token.refresh', token: fresh })
    const refreshed = await socket.next((f) => f.type === 'token.refreshed')
    expect(Date.parse(refreshed.expiresAt) - Date.now()).toBeGreaterThan(3000_000)

    await sleep(4000) // past the old token's exp
    expect(socket.ws.readyState).toBe(socket.ws.OPEN)
    await world.send(id, 'dora', 'still listening')
    expect((await socket.next((f) => f.event === 'message.created')).data.text).toBe('still listening')
    socket.send({ type: 'ping', id: 'later' })
    expect((await socket.next((f) => f.type === 'pong')).id).toBe('later')
    socket.close()
  }, 10_000)

  it('refuses another user’s token: error frame, and the socket keeps its user (and its expiry)', async () => {
    await world.users('eli', 'eva', 'ezra')
    const elis = await world.group(['eli', 'ezra'])
    const evas = await world.group(['eva', 'ezra'])
    const socket = await connect(url, await shortLivedToken(t, world.tenant.id, 'eli', 3))
    socket.send({ type: 'token.refresh', token: await world.token('eva') })
    expect(await socket.next((f) => f.type === 'error')).toMatchObject({ code: 'forbidden' })
    expect(socket.frames.some((f) => f.type === 'token.refreshed')).toBe(false)

    await world.send(evas, 'ezra', 'for eva')
    await world.send(elis, 'ezra', 'for eli')
    expect((await socket.next((f) => f.event === 'message.created')).data.text).toBe('for eli')
    expect(socket.frames.some((f) => f.data?.text === 'for eva')).toBe(false)
    // Still eli's short-lived token: it expires on schedule.
    expect(await socket.closed(5000)).toBe(4002)
  }, 10_000)

  it('refuses the same user id from the other environment, and a bad token, without closing', async () => {
    const socket = await connect(url, await world.token('fin'))
    socket.send({ type: 'token.refresh', token: await world.token('fin', { environment: 'test' }) })
    expect(await socket.next((f) => f.type === 'error')).toMatchObject({ code: 'forbidden' })
    socket.send({ type: 'token.refresh', token: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' })
    await sleep(100)
    const errors = socket.frames.filter((f) => f.type === 'error')
    expect(errors).toHaveLength(2)
    expect(errors[1].code).toBe('invalid_token')
    socket.send({ type: 'ping', id: 'open' })
    expect((await socket.next((f) => f.type === 'pong')).id).toBe('open')
    socket.close()
  })
})
