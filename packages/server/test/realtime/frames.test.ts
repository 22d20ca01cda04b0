/**
 * Client frames on an authenticated socket (API.md §6): ping/pong, frames we cannot parse (an
 * error frame, the socket stays open), message.send with its ack or error carrying the `ref`, and
 * typing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld, rowsOf } from '../helpers/chat-world.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { connect, eventsOf, sleep } from '../helpers/realtime.js'
import type { TestSocket } from '../helpers/sockets.js'

let t: TestParley
let world: ChatWorld
let url: string
let shared: string // a group of amy and ben; cat is not a member

beforeAll(async () => {
  t = await startParley()
  world = await chatWorld(t)
  url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
  await world.users('amy', 'ben', 'cat')
  shared = await world.group(['amy', 'ben'])
})
afterAll(() => t.close())

async function expectStillOpen(socket: TestSocket) {
  const id = `open-${Math.random()}`
  socket.send({ type: 'ping', id })
  await socket.next((f) => f.type === 'pong' && f.id === id)
}

describe('ping', () => {
  it('answers ping with pong carrying the same id, string or number, or none', async () => {
    const socket = await connect(url, await world.token('amy'))
    socket.send({ type: 'ping', id: 'abc' })
    socket.send({ type: 'ping', id: 42 })
    socket.send({ type: 'ping' })
    await sleep(100)
    expect(socket.frames.filter((f) => f.type === 'pong')).toEqual([{ type: 'pong', id: 'abc' }, { type: 'pong', id: 42 }, { type: 'pong' }])
    socket.close()
  })
})

describe('frames we cannot use', () => {
  it.each([
    ['invalid JSON', '{"type":"ping"'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"ping"'],
    ['an unknown type', JSON.stringify({ type: 'dance' })],
    ['no type', JSON.stringify({ id: 1 })],
    ['a ping with an object id', JSON.stringify({ type: 'ping', id: { a: 1 } })],
    ['typing without a state', JSON.stringify({ type: 'typing', conversationId: 'conv_x' })],
    ['resume with a negative seq', JSON.stringify({ type: 'resume', positions: { conv_x: -1 } })],
  ])('answers %s with a bad_frame error and stays open', async (_name, text) => {
    const socket = await connect(url, await world.token('amy'))
    socket.send(text)
    const error = await socket.next((f) => f.type === 'error')
    expect(error.code).toBe('bad_frame')
    expect(typeof error.message).toBe('string')
    await expectStillOpen(socket)
    socket.close()
  })

  it('carries the ref of an unknown frame type back', async () => {
    const socket = await connect(url, await world.token('amy'))
    socket.send({ type: 'message.sned', ref: 'typo-1' })
    expect(await socket.next((f) => f.type === 'error')).toMatchObject({ code: 'bad_frame', ref: 'typo-1' })
    socket.close()
  })

  it('answers a second auth frame with an error, keeping the first identity', async () => {
    const socket = await connect(url, await world.token('amy'))
    socket.send({ type: 'auth', token: await world.token('ben') })
    expect(await socket.next((f) => f.type === 'error')).toMatchObject({ code: 'bad_frame' })
    socket.send({ type: 'message.send', ref: 'who', conversationId: shared, text: 'who am I?' })
    expect((await socket.next((f) => f.type === 'ack')).message.senderId).toBe('amy')
    socket.close()
  })
})

describe('message.send', () => {
  it('acks with the stored message, delivers it to the other members, and is idempotent per clientMessageId', async () => {
    const amy = await connect(url, await world.token('amy'))
    const ben = await connect(url, await world.token('ben'))
    amy.send({ type: 'message.send', ref: 'a1', conversationId: shared, text: 'hi ben', clientMessageId: 'cm-1' })
    const ack = await amy.next((f) => f.type === 'ack' && f.ref === 'a1')
    expect(ack.message).toMatchObject({ conversationId: shared, senderId: 'amy', text: 'hi ben', clientMessageId: 'cm-1' })
    const delivered = await ben.next((f) => f.event === 'message.created' && f.data.id === ack.message.id)
    expect(delivered.data.seq).toBe(ack.message.seq)

    amy.send({ type: 'message.send', ref: 'a2', conversationId: shared, text: 'hi ben', clientMessageId: 'cm-1' })
    const retry = await amy.next((f) => f.type === 'ack' && f.ref === 'a2')
    expect(retry.message.id).toBe(ack.message.id)
    await sleep(100)
    expect(eventsOf(ben, 'message.created').filter((f) => f.data.id === ack.message.id)).toHaveLength(1)
    for (const s of [amy, ben]) s.close()
  })

  it('answers a conversation the user is not in with an error carrying the ref, and sends nothing', async () => {
    const cat = await connect(url, await world.token('cat'))
    const ben = await connect(url, await world.token('ben'))
    cat.send({ type: 'message.send', ref: 'nope', conversationId: shared, text: 'let me in' })
    const error = await cat.next((f) => f.type === 'error')
    expect(error).toMatchObject({ ref: 'nope', code: 'forbidden' })
    cat.send({ type: 'message.send', ref: 'ghost', conversationId: 'conv_doesnotexist', text: 'hello?' })
    expect(await cat.next((f) => f.type === 'error' && f.ref === 'ghost')).toMatchObject({ code: 'not_found' })
    await sleep(100)
    expect(eventsOf(ben, 'message.created').filter((f) => f.data.text === 'let me in')).toEqual([])
    expect(cat.frames.some((f) => f.type === 'ack')).toBe(false)
    await expectStillOpen(cat)
    for (const s of [cat, ben]) s.close()
  })

  it('answers a text over 10,000 characters, or an empty one, with an error carrying the ref', async () => {
    const amy = await connect(url, await world.token('amy'))
    amy.send({ type: 'message.send', ref: 'long', conversationId: shared, text: 'x'.repeat(10_001) })
    expect(await amy.next((f) => f.type === 'error' && f.ref === 'long')).toMatchObject({ code: 'bad_frame' })
    amy.send({ type: 'message.send', ref: 'empty', conversationId: shared, text: '' })
    expect(await amy.next((f) => f.type === 'error' && f.ref === 'empty')).toMatchObject({ code: 'bad_frame' })
    amy.send({ type: 'message.send', ref: 'max', conversationId: shared, text: 'y'.repeat(10_000) })
    expect((await amy.next((f) => f.type === 'ack' && f.ref === 'max')).message.text).toHaveLength(10_000)
    amy.close()
  })

  it('answers a text holding U+0000 with an error carrying the ref, as REST does, and stores nothing', async () => {
    const amy = await connect(url, await world.token('amy'))
    const before = (await world.secret('GET', `/v1/conversations/${shared}/messages`)).body.data.length
    amy.send({ type: 'message.send', ref: 'nul', conversationId: shared, text: 'a\u0000b' })
    expect(await amy.next((f) => f.type === 'error' && f.ref === 'nul')).toMatchObject({ code: 'bad_frame' })
    expect((await world.secret('GET', `/v1/conversations/${shared}/messages`)).body.data).toHaveLength(before)
    amy.close()
  })

  it('spends the same per-user message budget as REST sends (one limit, whichever the transport)', async () => {
    const limited = await startParley({ env: { PARLEY_USER_MESSAGE_RATE_LIMIT: '3/60' } })
    try {
      const w = await chatWorld(limited)
      const limitedUrl = await limited.parley.app.listen({ port: 0, host: '127.0.0.1' })
      await w.users('amy', 'ben')
      const id = await w.group(['amy', 'ben'])
      const token = await w.token('amy')
      for (const text of ['rest 1', 'rest 2']) expect((await w.as(token, 'POST', `/v1/conversations/${id}/messages`, { text })).status).toBe(201)
      const amy = await connect(limitedUrl, token)
      amy.send({ type: 'message.send', ref: 'third', conversationId: id, text: 'socket 1' })
      expect(await amy.next((f) => f.ref === 'third')).toMatchObject({ type: 'ack' })
      amy.send({ type: 'message.send', ref: 'fourth', conversationId: id, text: 'socket 2' })
      expect(await amy.next((f) => f.ref === 'fourth')).toMatchObject({ type: 'error', code: 'rate_limited' })
      expect((await w.as(token, 'POST', `/v1/conversations/${id}/messages`, { text: 'rest 3' })).status).toBe(429)
      expect((await rowsOf(limited, 'messages', id)).map((row) => row.text)).toEqual(['rest 1', 'rest 2', 'socket 1'])
      amy.close()
    } finally {
      await limited.close()
    }
  })
})

describe('typing', () => {
  it('answers typing to a conversation the user is not in with an error, and relays nothing', async () => {
    const cat = await connect(url, await world.token('cat'))
    const amy = await connect(url, await world.token('amy'))
    cat.send({ type: 'typing', conversationId: shared, state: 'start' })
    expect(await cat.next((f) => f.type === 'error')).toMatchObject({ code: 'forbidden' })
    await sleep(100)
    expect(eventsOf(amy, 'typing')).toEqual([])
    await expectStillOpen(cat)
    for (const s of [cat, amy]) s.close()
  })

  it('relays start at most once a second, and stop at once', async () => {
    const amy = await connect(url, await world.token('amy'))
    const ben = await connect(url, await world.token('ben'))
    for (let i = 0; i < 5; i++) amy.send({ type: 'typing', conversationId: shared, state: 'start' })
    amy.send({ type: 'typing', conversationId: shared, state: 'stop' })
    await ben.next((f) => f.event === 'typing' && f.data.state === 'stop')
    expect(eventsOf(ben, 'typing', shared).map((f) => f.data)).toEqual([
      { userId: 'amy', state: 'start' },
      { userId: 'amy', state: 'stop' },
    ])
    for (const s of [amy, ben]) s.close()
  })
})
