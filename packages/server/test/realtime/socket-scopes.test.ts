/**
 * The socket applies the credential's scopes as REST does (API.md §12): sending (`message.send`,
 * `typing`) needs messages:write, `resume` and message events need messages:read, conversation
 * and member events need conversations:read. A frame the scopes do not allow is answered
 * `insufficient_scope` (with its ref); an event they do not allow is not sent. Unscoped tokens
 * keep every right. Each case has a socket with full rights beside it that does get the event, so
 * an event that is missing was sent and filtered, not lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../helpers/chat-world.js'
import { rowsOf } from '../helpers/chat-world.js'
import type { TestParley } from '../helpers/parley.js'
import { connect, eventsOf, listeningWorld, sleep } from '../helpers/realtime.js'

let t: TestParley
let world: ChatWorld
let url: string

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld())
  await world.users('amy', 'ben')
})
afterAll(() => t.close())

const eventNames = (frames: any[]) => frames.filter((f) => f.type === 'event').map((f) => f.event as string)

describe('frames the scopes do not allow', () => {
  it('answers message.send from a messages:read token with insufficient_scope and stores nothing', async () => {
    const id = await world.group(['amy', 'ben'])
    const reader = await connect(url, await world.token('amy', { scopes: ['messages:read'] }))
    reader.send({ type: 'message.send', ref: 'r1', conversationId: id, text: 'not allowed' })
    expect(await reader.next((f) => f.type === 'error' || f.type === 'ack')).toMatchObject({ type: 'error', code: 'insufficient_scope', ref: 'r1' })
    expect(await rowsOf(t, 'messages', id)).toEqual([])

    // The same user with messages:write sends (the scope, not the user, was refused).
    const writer = await connect(url, await world.token('amy', { scopes: ['messages:write'] }))
    writer.send({ type: 'message.send', ref: 'r2', conversationId: id, text: 'allowed' })
    expect(await writer.next((f) => f.type === 'ack' || f.type === 'error')).toMatchObject({ type: 'ack', ref: 'r2' })
    expect((await rowsOf(t, 'messages', id)).map((row) => row.text)).toEqual(['allowed'])
    for (const s of [reader, writer]) s.close()
  })

  it('answers typing from a token without messages:write with insufficient_scope and relays nothing', async () => {
    const id = await world.group(['amy', 'ben'])
    const ben = await connect(url, await world.token('ben'))
    const reader = await connect(url, await world.token('amy', { scopes: ['messages:read', 'conversations:read'] }))
    reader.send({ type: 'typing', conversationId: id, state: 'start' })
    expect(await reader.next((f) => f.type === 'error')).toMatchObject({ code: 'insufficient_scope' })

    const writer = await connect(url, await world.token('amy', { scopes: ['messages:write'] }))
    writer.send({ type: 'typing', conversationId: id, state: 'start' })
    const typing = await ben.next((f) => f.event === 'typing')
    expect(typing.data).toEqual({ userId: 'amy', state: 'start' })
    expect(eventsOf(ben, 'typing')).toHaveLength(1) // the refused one never reached ben
    for (const s of [ben, reader, writer]) s.close()
  })

  it('answers resume from a conversations:read token with insufficient_scope, and replays nothing', async () => {
    const id = await world.group(['amy', 'ben'])
    await world.send(id, 'ben', 'history')
    const socket = await connect(url, await world.token('amy', { scopes: ['conversations:read'] }))
    socket.send({ type: 'resume', positions: { [id]: 0 } })
    expect(await socket.next((f) => f.type === 'error')).toMatchObject({ code: 'insufficient_scope' })
    socket.send({ type: 'ping', id: 'after' })
    await socket.next((f) => f.type === 'pong')
    expect(socket.frames.some((f) => f.type === 'resumed' || f.event === 'message.created')).toBe(false)
    socket.close()
  })
})

describe('events the scopes do not allow', () => {
  it('sends no message.* or read.updated to a conversations:read token, but its conversation events', async () => {
    const id = await world.group(['amy', 'ben'])
    const full = await connect(url, await world.token('amy'))
    const narrow = await connect(url, await world.token('amy', { scopes: ['conversations:read'] }))

    const message = await world.send(id, 'ben', 'secret words')
    expect((await world.secret('PATCH', `/v1/conversations/${id}/messages/${message.id}`, { text: 'edited' })).status).toBe(200)
    expect((await world.secret('POST', `/v1/conversations/${id}/read`, { seq: 1, userId: 'ben' })).status).toBe(200)
    expect((await world.secret('PATCH', `/v1/conversations/${id}`, { name: 'renamed' })).status).toBe(200)
    await full.next((f) => f.event === 'conversation.updated')
    await narrow.next((f) => f.event === 'conversation.updated')
    await sleep(50)

    expect(eventNames(full.frames)).toEqual(['message.created', 'message.updated', 'read.updated', 'conversation.updated'])
    expect(eventNames(narrow.frames)).toEqual(['conversation.updated'])
    for (const s of [full, narrow]) s.close()
  })

  it('sends no conversation.* or member.* to a messages:read token, yet follows its new conversations', async () => {
    const full = await connect(url, await world.token('ben'))
    const narrow = await connect(url, await world.token('ben', { scopes: ['messages:read'] }))

    // ben joins two conversations while connected: the sockets subscribe without being told.
    const created = await world.group(['amy', 'ben'])
    const joined = await world.group(['amy'])
    expect((await world.secret('POST', `/v1/conversations/${joined}/members`, { userIds: ['ben'] })).status).toBeLessThan(300)
    await full.next((f) => f.event === 'member.added' && f.conversationId === joined)
    await world.send(created, 'amy', 'in the created one')
    await world.send(joined, 'amy', 'in the joined one')
    for (const socket of [full, narrow]) await socket.next((f) => f.event === 'message.created' && f.conversationId === joined)
    expect((await world.secret('PATCH', `/v1/conversations/${joined}`, { name: 'renamed' })).status).toBe(200)
    await full.next((f) => f.event === 'conversation.updated')
    await sleep(50)

    expect(eventNames(full.frames)).toEqual(['conversation.created', 'member.added', 'message.created', 'message.created', 'conversation.updated'])
    expect(eventNames(narrow.frames)).toEqual(['message.created', 'message.created'])
    expect(eventsOf(narrow, 'message.created').map((f) => f.data.text)).toEqual(['in the created one', 'in the joined one'])
    for (const s of [full, narrow]) s.close()
  })

  it('applies the new scopes after token.refresh', async () => {
    const id = await world.group(['amy', 'ben'])
    const socket = await connect(url, await world.token('amy'))
    await world.send(id, 'ben', 'before')
    await socket.next((f) => f.event === 'message.created')
    socket.send({ type: 'token.refresh', token: await world.token('amy', { scopes: ['conversations:read'] }) })
    await socket.next((f) => f.type === 'token.refreshed')

    await world.send(id, 'ben', 'after')
    expect((await world.secret('PATCH', `/v1/conversations/${id}`, { name: 'renamed' })).status).toBe(200)
    await socket.next((f) => f.event === 'conversation.updated')
    await sleep(50)
    expect(eventsOf(socket, 'message.created').map((f) => f.data.text)).toEqual(['before'])
    socket.close()
  })

  it('a secret key with events:read hears its environment\'s whole event stream, whatever its other scopes', async () => {
    const key = async (scopes: string[]) => {
      const res = await world.secret('POST', '/v1/keys', { name: scopes.join(' '), type: 'secret', scopes })
      expect(res.status).toBe(201)
      return res.body.key as string
    }
    const unscoped = await connect(url, world.key)
    const bare = await connect(url, await key(['events:read']))
    const messages = await connect(url, await key(['events:read', 'messages:read']))

    const id = await world.group(['amy', 'ben'])
    await world.send(id, 'amy', 'hello')
    await unscoped.next((f) => f.event === 'message.created' && f.conversationId === id)
    await messages.next((f) => f.event === 'message.created' && f.conversationId === id)
    await sleep(50)

    await bare.next((f) => f.event === 'message.created' && f.conversationId === id)
    await sleep(50)

    for (const socket of [unscoped, bare, messages]) {
      // Besides the key.created of the keys made above, once they were listening.
      expect(eventNames(socket.frames).filter((name) => !name.startsWith('key.'))).toEqual(['conversation.created', 'message.created'])
    }
    for (const s of [unscoped, bare, messages]) s.close()
  })
})
