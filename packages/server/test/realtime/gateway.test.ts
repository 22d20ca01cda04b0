import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from '../helpers/parley.js'
import { openSocket } from '../helpers/sockets.js'
import { sleep } from '../helpers/wait.js'

let t: TestParley
let tenant: TestTenant
let url: string
const tokens: Record<string, string> = {}

beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
  for (const id of ['alice', 'bob', 'carol']) {
    await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id } })
    tokens[id] = (await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: id } })).body.token
  }
  url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(() => t.close())

async function conversation(creator: string, members: string[]) {
  const res = await t.call('POST', '/v1/conversations', { auth: tokens[creator], body: { type: 'group', members } })
  expect(res.status).toBe(201)
  return res.body.id as string
}

describe('realtime gateway', () => {
  it('authenticates with the Authorization header and with a first auth frame', async () => {
    const header = await openSocket(url, { authorization: `Bearer ${tokens.alice}` })
    const ready = await header.next((f) => f.type === 'ready')
    expect(ready.user).toEqual({ id: 'alice', kind: 'user' })
    header.close()

    const frame = await openSocket(url)
    frame.send({ type: 'auth', token: tokens.bob })
    expect((await frame.next((f) => f.type === 'ready')).user.id).toBe('bob')
    frame.close()
  })

  it('refuses a bad header token before the upgrade, and closes a bad first frame with 4001', async () => {
    await expect(openSocket(url, { authorization: 'Bearer not.a.token' })).rejects.toMatchObject({ status: 401 })
    const socket = await openSocket(url)
    socket.send({ type: 'auth', token: 'eyJ.bad.token' })
    expect(await socket.closed()).toBe(4001)
  })

  it('delivers message events to members only, and typing to the others', async () => {
    const id = await conversation('alice', ['bob'])
    const bob = await openSocket(url, { authorization: `Bearer ${tokens.bob}` })
    const carol = await openSocket(url, { authorization: `Bearer ${tokens.carol}` })
    await bob.next((f) => f.type === 'ready')
    await carol.next((f) => f.type === 'ready')
    await t.call('POST', `/v1/conversations/${id}/messages`, { auth: tokens.alice, body: { text: 'hello' } })
    const event = await bob.next((f) => f.type === 'event' && f.event === 'message.created')
    expect(event).toMatchObject({ conversationId: id, data: { text: 'hello', seq: 1, senderId: 'alice' } })

    bob.send({ type: 'typing', conversationId: id, state: 'start' })
    const alice = await openSocket(url, { authorization: `Bearer ${tokens.alice}` })
    await alice.next((f) => f.type === 'ready')
    alice.send({ type: 'typing', conversationId: id, state: 'start' })
    expect((await bob.next((f) => f.event === 'typing')).data).toEqual({ userId: 'alice', state: 'start' })
    await sleep(100)
    expect(carol.frames.filter((f) => f.type === 'event')).toEqual([])
    expect(alice.frames.filter((f) => f.event === 'typing')).toEqual([]) // not echoed to the sender
    for (const s of [alice, bob, carol]) s.close()
  })

  it('subscribes open sockets when their user joins a conversation, and stops when it leaves', async () => {
    const id = await conversation('alice', ['bob'])
    const carol = await openSocket(url, { authorization: `Bearer ${tokens.carol}` })
    await carol.next((f) => f.type === 'ready')
    await t.call('POST', `/v1/conversations/${id}/members`, { auth: tokens.alice, body: { userIds: ['carol'] } })
    await carol.next((f) => f.event === 'member.added')
    await t.call('POST', `/v1/conversations/${id}/messages`, { auth: tokens.alice, body: { text: 'welcome' } })
    expect((await carol.next((f) => f.event === 'message.created')).data.text).toBe('welcome')
    await t.call('DELETE', `/v1/conversations/${id}/members/carol`, { auth: tokens.carol })
    await carol.next((f) => f.event === 'member.removed')
    await t.call('POST', `/v1/conversations/${id}/messages`, { auth: tokens.alice, body: { text: 'gone' } })
    await sleep(100)
    expect(carol.frames.filter((f) => f.data?.text === 'gone')).toEqual([])
    carol.close()
  })

  it('answers message.send with ack, and replays missed messages on resume', async () => {
    const id = await conversation('alice', ['bob'])
    const alice = await openSocket(url, { authorization: `Bearer ${tokens.alice}` })
    await alice.next((f) => f.type === 'ready')
    alice.send({ type: 'message.send', ref: 'r1', conversationId: id, text: 'over the socket', clientMessageId: 'c-1' })
    const ack = await alice.next((f) => f.type === 'ack')
    expect(ack).toMatchObject({ ref: 'r1', message: { seq: 1, text: 'over the socket' } })

    for (let i = 0; i < 5; i++) await t.call('POST', `/v1/conversations/${id}/messages`, { auth: tokens.bob, body: { text: `m${i}` } })
    const bob = await openSocket(url, { authorization: `Bearer ${tokens.bob}` })
    await bob.next((f) => f.type === 'ready')
    bob.send({ type: 'resume', positions: { [id]: 2 } })
    await bob.next((f) => f.type === 'resumed')
    const replayed = bob.frames.filter((f) => f.event === 'message.created').map((f) => f.data.seq)
    expect(replayed).toEqual([3, 4, 5, 6])
    alice.close()
    bob.close()
  })

  it('closes a revoked user’s sockets with 4003', async () => {
    await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: 'dave' } })
    const token = (await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'dave' } })).body.token
    const dave = await openSocket(url, { authorization: `Bearer ${token}` })
    await dave.next((f) => f.type === 'ready')
    await t.call('POST', '/v1/users/dave/revoke-tokens', { auth: tenant.liveKey })
    expect(await dave.closed()).toBe(4003)
  })
})
