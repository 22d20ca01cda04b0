/**
 * The client's realtime side against a real Parley (in process, on a real port): connecting and
 * states, every kind of event reaching listeners once, sends over the socket with their ack (REST
 * when the socket is not open), typing, and what the client does when the network drops (a TCP
 * relay between it and Parley stands in for the network).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { HIGH_KEY_LIMIT, listeningWorld } from '../../server/test/helpers/realtime.js'
import { ConnectionError, Parley, ValidationError } from '../src/index.js'
import { backoffDelay } from '../src/connection.js'
import { type TestClient, clientFor, oneTo, sleep, waitFor } from './helpers/clients.js'
import { type Network, networkTo } from './helpers/network.js'

let t: TestParley
let world: ChatWorld
let url: string
const open: Parley[] = []
const networks: Network[] = []

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld(HIGH_KEY_LIMIT))
  await world.users('alice', 'bob', 'carol')
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((parley) => parley.close()))
  await Promise.all(networks.splice(0).map((network) => network.close()))
})
afterAll(() => t?.close())

/** A client of `userId` (optionally through a relay standing in for the network), tracked for closing. */
async function client(userId: string, options: Parameters<typeof clientFor>[3] & { network?: Network } = {}): Promise<TestClient> {
  const { network, ...extra } = options
  const made = clientFor(url, world.key, userId, { ...(network && { apiUrl: network.url }), ...extra })
  open.push(made.parley)
  return made
}

async function relay(): Promise<Network> {
  const network = await networkTo(url)
  networks.push(network)
  return network
}

/** Messages sent by `senderId` with the secret key (another user, from elsewhere). */
async function sendMany(conversationId: string, senderId: string, count: number, label = 'm'): Promise<void> {
  for (let i = 1; i <= count; i++) await world.send(conversationId, senderId, `${label}${i}`)
}

describe('connecting', () => {
  it('goes connecting → open on ready, closed on close(), and connects again', async () => {
    const alice = await client('alice')
    expect(alice.parley.state).toBe('closed')
    const connecting = alice.parley.connect()
    expect(alice.parley.state).toBe('connecting')
    await connecting
    expect(alice.parley.state).toBe('open')
    await alice.parley.close()
    await alice.parley.connect()
    expect(alice.states).toEqual(['connecting', 'open', 'closed', 'connecting', 'open'])
  })

  it('rejects connect() with ConnectionError when Parley cannot be reached, and stays closed', async () => {
    const nowhere = new Parley({ apiUrl: 'http://127.0.0.1:9', tokenProvider: () => 'token', WebSocket: (await import('ws')).default })
    await expect(nowhere.connect()).rejects.toBeInstanceOf(ConnectionError)
    expect(nowhere.state).toBe('closed')
  })

  it('backs off with jitter between 0.5 s and a ceiling growing 1.5 times per attempt up to 20 s', () => {
    expect([0, 1, 2, 3, 4, 8, 20].map((attempt) => Math.round(backoffDelay(attempt, () => 1)))).toEqual([1000, 1500, 2250, 3375, 5063, 20000, 20000])
    expect(backoffDelay(7, () => 0)).toBe(500)
    expect(backoffDelay(0, () => 0.5)).toBe(750)
  })
})

describe('events', () => {
  it('delivers every kind of event of the user’s conversations, each once; off() stops a listener', async () => {
    const alice = await client('alice')
    const bob = await client('bob')
    await Promise.all([alice.parley.connect(), bob.parley.connect()])
    const conversation = await alice.parley.conversations.create({ type: 'group', members: ['bob'], name: 'Events' })
    await waitFor(() => bob.events.some((e) => e.event === 'conversation.created'), 3000, 'conversation.created')

    const sent = await alice.parley.messages.send(conversation.id, { text: 'first' })
    await alice.parley.messages.edit(conversation.id, sent.id, { text: 'first, edited' })
    await alice.parley.messages.delete(conversation.id, sent.id)
    await bob.parley.conversations.markRead(conversation.id, sent.seq)
    await world.secret('PATCH', `/v1/conversations/${conversation.id}`, { name: 'Renamed' })
    await world.secret('POST', `/v1/conversations/${conversation.id}/members`, { userIds: ['carol'] })
    await world.secret('DELETE', `/v1/conversations/${conversation.id}/members/carol`)
    const removedListener = (): void => {
      throw new Error('removed listener called')
    }
    bob.parley.on('conversation.deleted', removedListener)
    bob.parley.off('conversation.deleted', removedListener)
    await world.secret('DELETE', `/v1/conversations/${conversation.id}`)

    const expected = ['conversation.created', 'message.created', 'message.updated', 'message.deleted', 'read.updated', 'conversation.updated', 'member.added', 'member.removed', 'conversation.deleted']
    await waitFor(() => bob.events.length >= expected.length, 3000, 'every event').catch(() => {})
    await sleep(200)
    expect(bob.events.map((e) => e.event)).toEqual(expected)
    expect(bob.events.every((e) => e.conversationId === conversation.id)).toBe(true)
    expect(bob.events[1]!.data).toMatchObject({ seq: 1, text: 'first', senderId: 'alice' })
    expect(bob.errors).toEqual([])
  })

  it('relays typing to the other members only', async () => {
    const alice = await client('alice')
    const bob = await client('bob')
    await Promise.all([alice.parley.connect(), bob.parley.connect()])
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    await waitFor(() => bob.events.length > 0)
    alice.parley.typing(id, 'start')
    await waitFor(() => bob.events.some((e) => e.event === 'typing'), 3000, 'typing')
    expect(bob.events.find((e) => e.event === 'typing')).toEqual({ event: 'typing', conversationId: id, data: { userId: 'alice', state: 'start' } })
    expect(alice.events.some((e) => e.event === 'typing')).toBe(false)
  })
})

describe('sending', () => {
  /** A fetch that counts message POSTs (and passes everything to the real fetch). */
  function countingPosts(): { fetch: typeof fetch; posts: () => number } {
    let posts = 0
    return {
      fetch: (input, init) => {
        if (init?.method === 'POST' && String(input).endsWith('/messages')) posts++
        return fetch(input, init)
      },
      posts: () => posts,
    }
  }

  it('sends over the open socket (ack, no REST call) and over REST when not connected', async () => {
    const counter = countingPosts()
    const alice = await client('alice', { fetch: counter.fetch })
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    const overRest = await alice.parley.messages.send(id, { text: 'before connecting' })
    expect(counter.posts()).toBe(1)
    await alice.parley.connect()
    const overSocket = await alice.parley.messages.send(id, { text: 'over the socket', clientMessageId: 'sock-1' })
    expect(counter.posts()).toBe(1)
    expect(overSocket).toMatchObject({ seq: overRest.seq + 1, text: 'over the socket', clientMessageId: 'sock-1', senderId: 'alice' })
    // The same clientMessageId again is the same message, over the socket too.
    expect((await alice.parley.messages.send(id, { text: 'over the socket', clientMessageId: 'sock-1' })).id).toBe(overSocket.id)
  })

  it('rejects a socket send the server refuses with the error class of its code', async () => {
    const alice = await client('alice')
    await alice.parley.connect()
    const { id } = await alice.parley.conversations.create({ type: 'group', members: [] })
    const error = await alice.parley.messages.send(id, { text: '' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
  })

  it('never duplicates a message whose ack was lost with the connection: the REST retry returns the original', async () => {
    const network = await relay()
    const alice = await client('alice', { network })
    await alice.parley.connect()
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    network.loseReplies(true)
    const sending = alice.parley.messages.send(id, { text: 'lost ack' })
    // The frame reaches Parley and the message is stored; only the ack is lost.
    const storedMessages = async () => (await world.secret('GET', `/v1/conversations/${id}/messages`)).body.data as any[]
    let stored = await storedMessages()
    for (let i = 0; i < 150 && stored.length === 0; i++) {
      await sleep(20)
      stored = await storedMessages()
    }
    expect(stored).toHaveLength(1)
    network.loseReplies(false)
    network.cut()
    const message = await sending
    expect(message.id).toBe(stored[0].id)
    expect(message.clientMessageId).toBe(stored[0].clientMessageId)
    expect((await world.secret('GET', `/v1/conversations/${id}/messages`)).body.data).toHaveLength(1)
  })
})

describe('recovery', () => {
  it('reconnects after the network drops and resumes: every message once, in order', async () => {
    const network = await relay()
    const alice = await client('alice', { network })
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    await alice.parley.connect()
    await sendMany(id, 'bob', 5, 'before')
    await waitFor(() => alice.seqs(id).length === 5)
    network.offline(true)
    await waitFor(() => alice.parley.state === 'reconnecting', 3000, 'reconnecting')
    await sendMany(id, 'bob', 20, 'while away')
    network.offline(false)
    await waitFor(() => alice.seqs(id).length >= 25, 10_000, 'the missed messages')
    await sleep(300)
    expect(alice.seqs(id)).toEqual(oneTo(25))
    expect(alice.states).toEqual(['connecting', 'open', 'reconnecting', 'open'])
  })

  it('fetches over REST what the server will not replay (resync after 1,200 missed messages): nothing missing', async () => {
    const network = await relay()
    const pages: string[] = []
    const alice = await client('alice', {
      network,
      fetch: (input, init) => {
        if (/\/messages\?after=/.test(String(input))) pages.push(String(input))
        return fetch(input, init)
      },
    })
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    await alice.parley.connect()
    await sendMany(id, 'bob', 3)
    await waitFor(() => alice.seqs(id).length === 3)
    network.offline(true)
    await waitFor(() => alice.parley.state === 'reconnecting')
    await Promise.all(oneTo(4).map((lane) => sendMany(id, 'bob', 300, `lane${lane}-`)))
    network.offline(false)
    await waitFor(() => alice.seqs(id).length >= 1203, 30_000, 'the resync')
    await sleep(300)
    expect(alice.seqs(id)).toEqual(oneTo(1203))
    expect(alice.errors).toEqual([])
    // Paged over REST from the position the client had: 1,200 messages, 200 a page.
    expect(pages.length).toBeGreaterThanOrEqual(6)
    expect(pages[0]).toContain('after=3&')
  })
})
