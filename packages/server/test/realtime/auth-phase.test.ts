/**
 * Sockets before and right after authentication: protocol errors from a client that has not
 * authenticated yet must close that socket only (never surface as an uncaught exception, which
 * would stop the whole server), and frames sent right after `auth` or right after opening with a
 * header (before `ready`) must not be lost.
 *
 * If the server-side socket has no 'error' listener, ws re-throws its protocol errors: vitest
 * reports them as "Unhandled Errors" and fails this file, and in production Node exits.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConversationStore } from '../../src/conversations/store.js'
import { type ChatWorld, chatWorld } from '../helpers/chat-world.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { connect, sleep } from '../helpers/realtime.js'
import { openSocket } from '../helpers/sockets.js'

let t: TestParley
let world: ChatWorld
let url: string
/** Uncaught exceptions seen while this file runs (vitest reports them too, after the fact). */
const uncaught: Error[] = []
const onUncaught = (error: Error) => void uncaught.push(error)

beforeAll(async () => {
  process.on('uncaughtException', onUncaught)
  t = await startParley()
  world = await chatWorld(t)
  url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(async () => {
  process.off('uncaughtException', onUncaught)
  await t.close()
})

async function stillServing() {
  const socket = await connect(url, await world.token('ann'))
  socket.send({ type: 'ping', id: 'alive' })
  expect((await socket.next((f) => f.type === 'pong')).id).toBe('alive')
  socket.close()
}

describe('protocol errors before authentication', () => {
  it('closes an unauthenticated socket whose first frame is over 64 KiB with 1009, and keeps serving', async () => {
    const socket = await openSocket(url)
    socket.send({ type: 'auth', token: 'x'.repeat(70 * 1024) })
    expect(await socket.closed()).toBe(1009)
    await sleep(50)
    expect(uncaught.map((e) => e.message)).toEqual([])
    await stillServing()
  })

  it('closes an unauthenticated socket that sends invalid UTF-8 as text with 1007, and keeps serving', async () => {
    const socket = await openSocket(url)
    socket.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
    expect(await socket.closed()).toBe(1007)
    await sleep(50)
    expect(uncaught.map((e) => e.message)).toEqual([])
    await stillServing()
  })
})

describe('frames sent before ready', () => {
  it('answers a frame sent right after the auth frame', async () => {
    const token = await world.token('bob')
    const socket = await openSocket(url)
    socket.send({ type: 'auth', token })
    socket.send({ type: 'ping', id: 'right after auth' })
    await socket.next((f) => f.type === 'ready')
    expect((await socket.next((f) => f.type === 'pong', 2000)).id).toBe('right after auth')
    socket.close()
  })

  it('replays on a resume sent as soon as a header-authenticated socket opens', async () => {
    await world.users('cy', 'dot')
    const id = await world.group(['cy', 'dot'])
    for (let i = 1; i <= 3; i++) await world.send(id, 'dot', `m${i}`)
    const socket = await openSocket(url, { authorization: `Bearer ${await world.token('cy')}` })
    socket.send({ type: 'resume', positions: { [id]: 0 } }) // before `ready` arrives
    await socket.next((f) => f.type === 'resumed')
    const seqs = socket.frames.filter((f) => f.event === 'message.created').map((f) => f.data.seq)
    expect(seqs).toEqual([1, 2, 3])
    socket.close()
  })

  it('replays on an early resume even when loading the user’s conversations takes a while (a networked database)', async () => {
    await world.users('cy', 'dot')
    const id = await world.group(['cy', 'dot'])
    for (let i = 1; i <= 3; i++) await world.send(id, 'dot', `m${i}`)
    const original = ConversationStore.prototype.conversationIdsOf
    const slow = vi.spyOn(ConversationStore.prototype, 'conversationIdsOf').mockImplementation(async function (this: ConversationStore, ...args) {
      await sleep(50)
      return original.apply(this, args)
    })
    try {
      const socket = await openSocket(url, { authorization: `Bearer ${await world.token('cy')}` })
      socket.send({ type: 'resume', positions: { [id]: 0 } })
      await socket.next((f) => f.type === 'resumed')
      const seqs = socket.frames.filter((f) => f.event === 'message.created').map((f) => f.data.seq)
      expect(seqs).toEqual([1, 2, 3])
      socket.close()
    } finally {
      slow.mockRestore()
    }
  })

  it('replays on a resume sent right after the auth frame', async () => {
    await world.users('cy', 'dot')
    const id = await world.group(['cy', 'dot'])
    for (let i = 1; i <= 3; i++) await world.send(id, 'dot', `m${i}`)
    const socket = await openSocket(url)
    socket.send({ type: 'auth', token: await world.token('cy') })
    socket.send({ type: 'resume', positions: { [id]: 1 } })
    await socket.next((f) => f.type === 'ready')
    await socket.next((f) => f.type === 'resumed', 2000)
    const seqs = socket.frames.filter((f) => f.event === 'message.created').map((f) => f.data.seq)
    expect(seqs).toEqual([2, 3])
    socket.close()
  })
})

describe('a client that leaves while its auth frame is checked', () => {
  it('leaves no connection behind (nor a place in its user’s socket cap)', async () => {
    const token = await world.token('eve')
    const tokens = t.parley.services.tokens
    const verify = tokens.verify.bind(tokens)
    const slow = vi.spyOn(tokens, 'verify').mockImplementation(async (credential: string) => {
      await sleep(100)
      return verify(credential)
    })
    try {
      const socket = await openSocket(url)
      socket.send({ type: 'auth', token })
      socket.close()
      await socket.closed()
      await sleep(200) // the check has finished by now
      expect(slow).toHaveBeenCalled()
      expect(t.parley.services.gateway.openSockets).toBe(0)
    } finally {
      slow.mockRestore()
    }
  })
})
