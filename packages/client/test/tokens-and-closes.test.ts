/**
 * Session tokens and the close codes of API.md §6, against a real Parley: tokens renewed on the
 * open socket before they expire (no reconnect, nothing lost), an expired socket (4002) renewed
 * once and resumed, revocation (4003) with a session route that mints again and one that does
 * not, a suspended tenant (4500), and too many frames (4008).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { HIGH_KEY_LIMIT, listeningWorld, shortLivedToken } from '../../server/test/helpers/realtime.js'
import { AuthenticationError, ConnectionError, type Parley, PermissionError } from '../src/index.js'
import { type TestClient, clientFor, mintToken, oneTo, sleep, waitFor } from './helpers/clients.js'

let t: TestParley
let world: ChatWorld
let url: string
const open: Parley[] = []

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld(HIGH_KEY_LIMIT))
  await world.users('alice', 'bob')
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((parley) => parley.close()))
})
afterAll(() => t?.close())

function client(userId: string, options: Parameters<typeof clientFor>[3] = {}, inWorld = world): TestClient {
  const made = clientFor(url, inWorld.key, userId, options)
  open.push(made.parley)
  return made
}

/** Bob sends `count` messages with the secret key, `gapMs` apart. */
async function bobSends(conversationId: string, count: number, gapMs: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await world.send(conversationId, 'bob', `n${i}`)
    await sleep(gapMs)
  }
}

describe('token renewal', () => {
  it('renews short-lived tokens on the open socket before they expire: no reconnect, no event lost', async () => {
    const tokens: string[] = []
    const alice = client('alice', {
      // A provider answering a bare string: the client reads the expiry from the token itself.
      tokenProvider: async () => {
        const token = await shortLivedToken(t, world.tenant.id, 'alice', 4)
        tokens.push(token)
        return token
      },
    })
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    await alice.parley.connect()
    await bobSends(id, 40, 150)
    await waitFor(() => alice.seqs(id).length === 40, 5000, 'every message')
    expect(alice.seqs(id)).toEqual(oneTo(40))
    expect(alice.states).toEqual(['connecting', 'open'])
    expect(tokens.length).toBeGreaterThanOrEqual(3)
    // REST uses the renewed token too.
    expect((await alice.parley.me()).user.id).toBe('alice')
    expect(alice.errors).toEqual([])
  })

  it('a token that expires on the socket (4002): asks for a new one, reconnects and resumes without a gap', async () => {
    let firstExpiry = 0
    let asked = 0
    const alice = client('alice', {
      tokenProvider: async () => {
        asked++
        if (firstExpiry === 0) {
          firstExpiry = Date.now() + 3000
          return shortLivedToken(t, world.tenant.id, 'alice', 3)
        }
        // The session route is down until the first token has expired.
        if (Date.now() < firstExpiry + 300) throw new Error('session route unavailable')
        return mintToken(url, world.key, 'alice')
      },
    })
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    await alice.parley.connect()
    await bobSends(id, 30, 150)
    await waitFor(() => alice.seqs(id).length === 30, 10_000, 'every message')
    expect(alice.seqs(id)).toEqual(oneTo(30))
    expect(alice.states).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    // The background renewal failed (reported), then the refused socket's renewal succeeded.
    expect(alice.errors.map((e) => [e.constructor.name, e.code])).toContainEqual(['ConnectionError', 'token_provider_failed'])
    expect(asked).toBeGreaterThanOrEqual(3)
  })
})

describe('revocation (4003)', () => {
  it('asks the session route again; a token minted after the revocation gets the user back in', async () => {
    const alice = client('alice')
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    await alice.parley.connect()
    expect((await world.secret('POST', '/v1/users/alice/revoke-tokens')).status).toBe(204)
    await waitFor(() => alice.states.length >= 4, 5000, 'reconnected')
    await world.send(id, 'bob', 'after the revocation')
    await waitFor(() => alice.seqs(id).length === 1)
    expect(alice.states).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    expect(alice.tokens).toHaveLength(2)
  })

  it('stops for good, with AuthenticationError, when the session route has nothing newer than the revoked token', async () => {
    const { token } = await mintToken(url, world.key, 'alice')
    const alice = client('alice', { tokenProvider: () => token })
    await alice.parley.connect()
    await world.secret('POST', '/v1/users/alice/revoke-tokens')
    await waitFor(() => alice.parley.state === 'closed', 5000, 'closed')
    expect(alice.errors).toHaveLength(1)
    expect(alice.errors[0]).toBeInstanceOf(AuthenticationError)
    expect(alice.errors[0]).toMatchObject({ code: 'token_revoked' })
    await sleep(1500)
    expect(alice.states).toEqual(['connecting', 'open', 'reconnecting', 'closed'])
  })

  it('stops when the session route says the user is signed out (no token in its answer)', async () => {
    let signedIn = true
    const alice = client('alice', {
      tokenProvider: async () => (signedIn ? mintToken(url, world.key, 'alice') : ({ error: 'Unauthorized' } as any)),
    })
    await alice.parley.connect()
    signedIn = false
    await world.secret('POST', '/v1/users/alice/revoke-tokens')
    await waitFor(() => alice.parley.state === 'closed', 5000, 'closed')
    expect(alice.errors[0]).toBeInstanceOf(AuthenticationError)
    expect(alice.errors[0]).toMatchObject({ code: 'authentication_required' })
  })

  it('connect() rejects with AuthenticationError when the token is refused twice', async () => {
    const forged = client('alice', { tokenProvider: () => 'not.a.token' })
    const error = await forged.parley.connect().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(forged.parley.state).toBe('closed')
  })
})

describe('other close codes', () => {
  it('4500: a suspended tenant stops the client with PermissionError, no reconnect', async () => {
    const other = await chatWorld(t)
    await other.users('erin')
    const erin = client('erin', {}, other)
    await erin.parley.connect()
    const suspended = await t.call('PATCH', `/v1/admin/tenants/${other.tenant.id}`, { auth: t.adminKey, body: { suspended: true } })
    expect(suspended.status).toBe(200)
    await waitFor(() => erin.parley.state === 'closed', 5000, 'closed')
    expect(erin.errors[0]).toBeInstanceOf(PermissionError)
    expect(erin.states).toEqual(['connecting', 'open', 'closed'])
  })

  it('4008: too many frames: waits at least 5 s, then reconnects and resumes', async () => {
    const alice = client('alice')
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    await alice.parley.connect()
    for (let i = 0; i < 150; i++) alice.parley.typing(id, 'stop')
    await waitFor(() => alice.parley.state === 'reconnecting', 3000, 'reconnecting')
    const droppedAt = Date.now()
    await world.send(id, 'bob', 'while backing off')
    await waitFor(() => alice.parley.state === 'open', 25_000, 'open again')
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(4900)
    await waitFor(() => alice.seqs(id).length === 1, 3000, 'the resumed message')
    expect(alice.errors.filter((e) => !(e instanceof ConnectionError))).toEqual([])
  })
})
