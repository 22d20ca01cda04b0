/**
 * The shared auth table over WebSocket (API.md §6, §9, §12): the credential cases of
 * auth-table.test.ts against GET /v1/realtime, opened both ways a socket authenticates — on the
 * upgrade (a refusal is an HTTP problem+json answer, no socket) and with the first frame (a refusal
 * closes the socket with the code §6 gives that failure) — then the rows for what an open socket
 * may send and hear with the scopes its credential carries.
 *
 * To add a credential case, add one row to SOCKET_CASES; to add a frame rule, one row to
 * FRAME_CASES. Credentials come from the same World as the HTTP table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../src/auth/key-format.js'
import type { Scope } from '../src/auth/scopes.js'
import { type Headers, World } from './auth/world.js'
import { startParley } from './helpers/parley.js'
import { expectProblem } from './helpers/problems.js'
import { connect, refusedUpgrade, waitFor } from './helpers/realtime.js'
import { type TestSocket, openSocket } from './helpers/sockets.js'

/** The close code a refused auth frame gets, by the code its upgrade would have been refused with (§6). */
const CLOSE_FOR: Record<string, number> = {
  invalid_api_key: 4003,
  invalid_token: 4001,
  token_expired: 4002,
  token_revoked: 4003,
  forbidden: 4500,
  key_type_not_allowed: 4500,
  insufficient_scope: 4500,
}

interface SocketCase {
  name: string
  credential(w: World): Promise<string> | string
  /** More upgrade headers (a frame carries none: such cases run on the upgrade only). */
  headers?(w: World): Headers
  /** The refusal, or what `ready` says of the socket's user when it opens. */
  expect: { status: number; code: string } | { user: 'user' | 'visitor' | null }
}

const refused = (status: number, code: string) => ({ status, code })

const SOCKET_CASES: SocketCase[] = [
  { name: 'a malformed key', credential: () => 'sk_live_abc', expect: refused(401, 'invalid_api_key') },
  { name: 'a credential of no known shape', credential: () => 'hello-there', expect: refused(401, 'invalid_api_key') },
  { name: 'a key with a bad checksum', credential: (w) => w.badChecksum, expect: refused(401, 'invalid_api_key') },
  { name: 'an unknown well-formed key', credential: () => generateKey('sk_live_'), expect: refused(401, 'invalid_api_key') },
  { name: 'a revoked key', credential: (w) => w.revoked, expect: refused(401, 'invalid_api_key') },
  { name: 'an expired key', credential: (w) => w.expired, expect: refused(401, 'invalid_api_key') },
  { name: 'a key rolled past its grace', credential: (w) => w.rolled, expect: refused(401, 'invalid_api_key') },
  { name: 'a key of a deleted tenant', credential: (w) => w.deletedTenantKey, expect: refused(401, 'invalid_api_key') },
  { name: 'a key of a suspended tenant', credential: (w) => w.suspendedTenantKey, expect: refused(403, 'forbidden') },
  { name: 'a secret key without events:read', credential: (w) => w.keyWithout('events:read'), expect: refused(403, 'insufficient_scope') },
  { name: 'a publishable key', credential: (w) => w.publishable(), expect: refused(403, 'key_type_not_allowed') },
  { name: 'the admin key', credential: (w) => w.t.adminKey, expect: refused(403, 'key_type_not_allowed') },
  { name: 'an expired token', credential: (w) => w.expiredToken, expect: refused(401, 'token_expired') },
  { name: 'a token minted before revoke-tokens', credential: (w) => w.revokedToken, expect: refused(401, 'token_revoked') },
  {
    name: 'a token with x-tenant-id of another tenant',
    credential: async (w) => (await w.actor('self', 'user')).token,
    headers: (w) => ({ 'x-tenant-id': w.other.id }),
    expect: refused(401, 'tenant_mismatch'),
  },
  // Positive controls: each kind that may hold a socket opens one.
  { name: 'a user token', credential: async (w) => (await w.actor('self', 'user')).token, expect: { user: 'user' } },
  { name: 'a visitor token', credential: async (w) => (await w.actor('self', 'visitor')).token, expect: { user: 'visitor' } },
  { name: 'a secret key with events:read', credential: (w) => w.keyWith(['events:read']), expect: { user: null } },
  // Valid in its own environment: what it may reach there is checked per frame (FRAME_CASES).
  { name: 'a test-environment token', credential: async (w) => (await w.actor('otherEnvironment', 'user')).token, expect: { user: 'user' } },
]

/** A conversation of the caller's own tenant (live) whose members are the actor and a listener. */
interface Scene {
  conversationId: string
  /** A socket of the other member, with every right: it hears what the actor does. */
  listener: TestSocket
}

type FrameType = 'message.send' | 'typing' | 'resume'

interface FrameCase {
  name: string
  frame: FrameType
  credential(w: World): Promise<string>
  /** The error code answered (with the frame's ref, where it has one); omitted when the frame works. */
  refused?: string
}

/** The scope each frame needs (§12). */
const FRAME_SCOPES: Record<FrameType, Scope> = { 'message.send': 'messages:write', typing: 'messages:write', resume: 'messages:read' }

const FRAME_CASES: FrameCase[] = (Object.keys(FRAME_SCOPES) as FrameType[]).flatMap((frame): FrameCase[] => {
  const scope = FRAME_SCOPES[frame]
  return [
    { name: 'a user token', frame, credential: async (w) => (await w.actor('self', 'user')).token },
    { name: `a token lacking ${scope}`, frame, credential: (w) => w.scopedToken(scope, 'user'), refused: 'insufficient_scope' },
    { name: `a token minted without scopes by a key lacking ${scope}`, frame, credential: (w) => w.tokenFromKeyWithout(scope, 'user'), refused: 'insufficient_scope' },
    { name: `a token minted without scopes by a key holding just ${scope}`, frame, credential: (w) => w.tokenFromKey([scope], 'user') },
  ]
})
// Another environment or tenant reaches nothing of this one: the conversation does not exist there.
FRAME_CASES.push(
  { name: 'a test-environment token', frame: 'message.send', credential: async (w) => (await w.actor('otherEnvironment', 'user')).token, refused: 'not_found' },
  { name: 'another tenant’s token', frame: 'message.send', credential: async (w) => (await w.actor('otherTenant', 'user')).token, refused: 'not_found' },
)

let w: World
let url: string
beforeAll(async () => {
  const t = await startParley({ env: { PARLEY_USER_RATE_LIMIT: '1000000/60', PARLEY_USER_MESSAGE_RATE_LIMIT: '1000000/60' } })
  const tenant = await t.createTenant('enterprise')
  await t.call('PATCH', `/v1/admin/tenants/${tenant.id}`, { auth: t.adminKey, body: { rateLimit: { limit: 1_000_000, windowSeconds: 60 } } })
  w = new World(t, tenant, await t.createTenant())
  await w.build()
  url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(() => w.t.close())

/** Closes sockets and waits until the server has let them go (the per-user socket cap counts them). */
async function closeAll(...sockets: TestSocket[]) {
  const gateway = w.t.parley.services.gateway
  const before = gateway.openSockets
  for (const socket of sockets) socket.close()
  await waitFor(() => gateway.openSockets <= before - sockets.length)
}

describe('GET /v1/realtime: credentials', () => {
  it('waits for the first frame when the upgrade carries no credential, and closes 4001 when it is not auth', async () => {
    const socket = await openSocket(url)
    socket.send({ type: 'ping' })
    expect(await socket.closed()).toBe(4001)
  })

  it('answers an Authorization header that is not Bearer with 400, before any socket', async () => {
    expectProblem(await refusedUpgrade(url, { authorization: 'Basic YTpi' }), 400, 'invalid_request')
  })

  for (const c of SOCKET_CASES) {
    const refusal = 'status' in c.expect ? c.expect : null
    it(`${c.name} on the upgrade → ${refusal ? `${refusal.status} ${refusal.code}` : 'ready'}`, async () => {
      const headers = { authorization: `Bearer ${await c.credential(w)}`, ...c.headers?.(w) }
      if (refusal) {
        const answer = await refusedUpgrade(url, headers)
        expectProblem(answer, refusal.status, refusal.code)
        if (refusal.status === 401) expect(String(answer.headers['www-authenticate'])).toMatch(/^Bearer realm="parley"/)
        return
      }
      const socket = await openSocket(url, headers)
      expect(await readyUser(socket)).toBe((c.expect as { user: string | null }).user)
      await closeAll(socket)
    })

    if (c.headers) continue
    it(`${c.name} in the auth frame → ${refusal ? `close ${CLOSE_FOR[refusal.code]}` : 'ready'}`, async () => {
      const socket = await openSocket(url)
      socket.send({ type: 'auth', token: await c.credential(w) })
      if (refusal) {
        expect(await socket.closed()).toBe(CLOSE_FOR[refusal.code])
        return
      }
      expect(await readyUser(socket)).toBe((c.expect as { user: string | null }).user)
      await closeAll(socket)
    })
  }
})

/** The kind of user `ready` names, or null for a key's socket. */
async function readyUser(socket: TestSocket): Promise<string | null> {
  const ready = await socket.next((f) => f.type === 'ready')
  return ready.user === null ? null : ready.user.kind
}

describe('GET /v1/realtime: frames and scopes', () => {
  /** A fresh conversation of the actor and a listener, with the listener's socket open and ready. */
  async function scene(): Promise<Scene> {
    const owner = w.owner('self')
    const actor = await owner.actor()
    const listenerId = `listener-${Math.random().toString(36).slice(2, 10)}`
    await owner.secret('POST', '/v1/users', { id: listenerId })
    const { id } = await owner.secret('POST', '/v1/conversations', { type: 'group', members: [actor, listenerId] })
    const { token } = await owner.secret('POST', '/v1/auth/token', { userId: listenerId })
    const listener = await connect(url, token)
    return { conversationId: id, listener }
  }

  /** Sends the frame, and returns the error frame it got, or null once its success shows. */
  async function attempt(socket: TestSocket, frame: FrameType, { conversationId, listener }: Scene): Promise<any> {
    const failed = (f: any) => f.type === 'error'
    switch (frame) {
      case 'message.send': {
        socket.send({ type: 'message.send', ref: 'r1', conversationId, text: 'hi' })
        const answer = await socket.next((f) => (f.type === 'ack' || failed(f)) && f.ref === 'r1')
        return answer.type === 'ack' ? null : answer
      }
      case 'resume': {
        socket.send({ type: 'resume', positions: { [conversationId]: 0 } })
        const answer = await socket.next((f) => f.type === 'resumed' || failed(f))
        return answer.type === 'resumed' ? null : answer
      }
      case 'typing': {
        socket.send({ type: 'typing', conversationId, state: 'start' })
        // Success is the other member hearing it; a refusal is an error frame to the sender.
        return Promise.race([
          listener.next((f) => f.event === 'typing' && f.conversationId === conversationId).then(() => null),
          socket.next(failed),
        ])
      }
    }
  }

  for (const c of FRAME_CASES) {
    it(`${c.frame} with ${c.name} → ${c.refused ?? 'done'}`, async () => {
      const s = await scene()
      const socket = await connect(url, await c.credential(w))
      try {
        const error = await attempt(socket, c.frame, s)
        if (c.refused === undefined) {
          expect(error).toBeNull()
          return
        }
        expect(error).toMatchObject({ type: 'error', code: c.refused })
        if (c.frame === 'message.send') expect(error.ref).toBe('r1')
      } finally {
        await closeAll(socket, s.listener)
      }
    })
  }

  /** What a socket hears of one message sent by the listener, proven complete by a ping's pong. */
  async function hearsMessage(credential: string): Promise<boolean> {
    const s = await scene()
    const socket = await connect(url, credential)
    try {
      await pingPong(socket, 'before') // ends the resume window: live events flow from here
      const owner = w.owner('self')
      const listenerId = (await owner.secret('GET', `/v1/conversations/${s.conversationId}`)).members.find((m: any) => m.userId.startsWith('listener-')).userId
      await owner.secret('POST', `/v1/conversations/${s.conversationId}/messages`, { text: 'for your eyes', senderId: listenerId })
      await s.listener.next((f) => f.event === 'message.created' && f.conversationId === s.conversationId)
      await pingPong(socket, 'after')
      return socket.frames.some((f) => f.event === 'message.created' && f.conversationId === s.conversationId)
    } finally {
      await closeAll(socket, s.listener)
    }
  }

  async function pingPong(socket: TestSocket, id: string) {
    socket.send({ type: 'ping', id })
    await socket.next((f) => f.type === 'pong' && f.id === id)
  }

  it('delivers message.created to a token with messages:read', async () => {
    expect(await hearsMessage((await w.actor('self', 'user')).token)).toBe(true)
  })

  it('does not deliver message.created to a token lacking messages:read', async () => {
    expect(await hearsMessage(await w.scopedToken('messages:read', 'user'))).toBe(false)
  })

  it('does not deliver message.created to a token minted without scopes by a key lacking messages:read', async () => {
    expect(await hearsMessage(await w.tokenFromKeyWithout('messages:read', 'user'))).toBe(false)
  })
})
