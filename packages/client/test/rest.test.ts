/**
 * Every REST method of @parley/client against a real Parley (in process, on a real port), and the
 * error class of each kind of failure with its `code` and `requestId`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { listeningWorld } from '../../server/test/helpers/realtime.js'
import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  Parley,
  ParleyError,
  PermissionError,
  RateLimitError,
  ServerError,
  ValidationError,
} from '../src/index.js'
import { clientFor, mintToken } from './helpers/clients.js'

let t: TestParley
let world: ChatWorld
let url: string
let alice: Parley
let bob: Parley

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld({ PARLEY_USER_RATE_LIMIT: '40/60' }))
  alice = clientFor(url, world.key, 'alice').parley
  bob = clientFor(url, world.key, 'bob').parley
  await world.users('bob', 'carol')
})
afterAll(() => t?.close())

const REQUEST_ID = /^req_\w+$/

describe('REST methods', () => {
  it('me() answers who the token belongs to, accepting apiUrl with a trailing /v1', async () => {
    const withV1 = new Parley({ apiUrl: `${url}/v1/`, tokenProvider: () => mintToken(url, world.key, 'alice') })
    const me = await withV1.me()
    expect(me.user).toMatchObject({ id: 'alice', kind: 'user' })
    expect(me.tenant.id).toBe(world.tenant.id)
    expect(Date.parse(me.expiresAt)).toBeGreaterThan(Date.now())
  })

  it('creates, lists and gets conversations, and marks them read', async () => {
    const direct = await alice.conversations.create({ type: 'direct', members: ['bob'] })
    expect(direct).toMatchObject({ type: 'direct', lastSeq: 0 })
    // A direct pair is unique: creating it again returns it.
    expect((await bob.conversations.create({ type: 'direct', members: ['alice'] })).id).toBe(direct.id)
    const group = await alice.conversations.create({ type: 'group', members: ['bob', 'carol'], name: 'Team', metadata: { topic: 'x' }, id: 'team-rest' })
    expect(group).toMatchObject({ id: 'team-rest', name: 'Team', metadata: { topic: 'x' } })

    const first = await alice.conversations.list({ limit: 1 })
    expect(first.data).toHaveLength(1)
    expect(first.nextCursor).toEqual(expect.any(String))
    const second = await alice.conversations.list({ limit: 1, cursor: first.nextCursor! })
    expect([first.data[0]!.id, second.data[0]!.id].sort()).toEqual([direct.id, group.id].sort())

    const got = await alice.conversations.get(group.id)
    expect(got.members!.map((m) => m.userId).sort()).toEqual(['alice', 'bob', 'carol'])

    const sent = await alice.messages.send(group.id, { text: 'hi' })
    expect((await bob.unread()).conversations).toContainEqual({ id: group.id, unreadCount: 1 })
    const read = await bob.conversations.markRead(group.id, sent.seq)
    expect(read).toMatchObject({ conversationId: group.id, userId: 'bob', lastReadSeq: sent.seq, unreadCount: 0 })
    expect((await bob.unread()).total).toBe(0)
  })

  it('sends (with a generated clientMessageId, or the given one idempotently), lists, edits and deletes messages', async () => {
    const { id } = await alice.conversations.create({ type: 'group', members: ['bob'] })
    const generated = await alice.messages.send(id, { text: 'one', metadata: { n: 1 } })
    expect(generated).toMatchObject({ seq: 1, senderId: 'alice', text: 'one', metadata: { n: 1 } })
    expect(generated.clientMessageId).toMatch(/^\w{16,}$/)
    const once = await alice.messages.send(id, { text: 'two', clientMessageId: 'cm-1' })
    const again = await alice.messages.send(id, { text: 'two', clientMessageId: 'cm-1' })
    expect(again.id).toBe(once.id)
    await alice.messages.send(id, { text: 'three' })

    expect((await bob.messages.list(id)).data.map((m) => m.text)).toEqual(['one', 'two', 'three'])
    expect(await bob.messages.list(id, { before: 3, limit: 1 })).toMatchObject({ data: [{ seq: 2 }], hasMore: true })
    expect(await bob.messages.list(id, { after: 1 })).toMatchObject({ data: [{ seq: 2 }, { seq: 3 }], hasMore: false })

    expect(await alice.messages.edit(id, once.id, { text: 'two, edited' })).toMatchObject({ text: 'two, edited', editedAt: expect.any(String) })
    expect(await alice.messages.delete(id, once.id)).toBeUndefined()
    expect((await bob.messages.list(id)).data[1]).toMatchObject({ text: '', deletedAt: expect.any(String) })
  })
})

describe('errors', () => {
  const expectError = async (promise: Promise<unknown>, kind: new (...args: any[]) => ParleyError, status: number | undefined, code: string) => {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(kind)
    expect(error).toBeInstanceOf(ParleyError)
    expect(error).toMatchObject({ status, code })
    if (status !== undefined) expect((error as ParleyError).requestId).toMatch(REQUEST_ID)
    return error as ParleyError
  }

  it('AuthenticationError: a token Parley refuses, even after asking for a new one', async () => {
    let asked = 0
    const forged = new Parley({ apiUrl: url, tokenProvider: () => (asked++, 'not.a.token') })
    const error = await expectError(forged.me(), AuthenticationError, 401, 'invalid_token')
    expect(error.detail).toEqual(expect.any(String))
    expect(asked).toBe(2)
  })

  it('PermissionError, NotFoundError, ConflictError', async () => {
    const { id } = await world.t.call('POST', '/v1/conversations', { auth: world.key, body: { type: 'group', members: ['carol'] } }).then((r) => r.body)
    await expectError(alice.conversations.get(id), PermissionError, 403, 'forbidden')
    await expectError(alice.conversations.get('no-such-conversation'), NotFoundError, 404, 'not_found')
    await alice.conversations.create({ type: 'group', members: [], id: 'taken' })
    await expectError(alice.conversations.create({ type: 'group', members: [], id: 'taken' }), ConflictError, 409, 'conflict')
    await expectError(alice.conversations.create({ type: 'group', members: ['nobody'] }), NotFoundError, 404, 'user_not_found')
  })

  it('ValidationError for a 400 (with errors[]) and a 413', async () => {
    const { id } = await alice.conversations.create({ type: 'group', members: [] })
    const invalid = await expectError(alice.messages.send(id, { text: '' }), ValidationError, 400, 'validation_failed')
    expect(invalid.errors?.[0]).toMatchObject({ param: expect.stringContaining('text') })
    await expectError(alice.messages.send(id, { text: 'x', metadata: { blob: 'x'.repeat(1_100_000) } }), ValidationError, 413, 'payload_too_large')
  })

  it('RateLimitError carries retryAfter in seconds', async () => {
    const dave = clientFor(url, world.key, 'dave').parley
    let error: unknown
    for (let i = 0; i < 50 && !error; i++) error = await dave.unread().then(() => null, (e: unknown) => e)
    const limited = await expectError(Promise.reject(error), RateLimitError, 429, 'rate_limited')
    expect((limited as RateLimitError).retryAfter).toBeGreaterThanOrEqual(1)
    expect((limited as RateLimitError).retryAfter).toBeLessThanOrEqual(60)
  })

  it('ConnectionError when Parley cannot be reached or does not answer in time', async () => {
    const token = (await mintToken(url, world.key, 'alice')).token
    const nowhere = new Parley({ apiUrl: 'http://127.0.0.1:9', tokenProvider: () => token })
    await expectError(nowhere.me(), ConnectionError, undefined, 'connection_failed')
    const impatient = new Parley({ apiUrl: url, tokenProvider: () => token, timeoutMs: 1 })
    await expectError(impatient.unread(), ConnectionError, undefined, 'timeout')
  })

  it('ServerError when Parley cannot read its storage', async () => {
    const { t: broken, world: brokenWorld, url: brokenUrl } = await listeningWorld()
    try {
      const carol = clientFor(brokenUrl, brokenWorld.key, 'carol').parley
      await carol.me()
      await broken.parley.store.close()
      const error = await carol.unread().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ServerError)
      expect(error).toMatchObject({ status: expect.any(Number), code: expect.stringMatching(/^(internal_error|unavailable)$/), requestId: expect.stringMatching(REQUEST_ID) })
      expect((error as ServerError).status).toBeGreaterThanOrEqual(500)
    } finally {
      await broken.close().catch(() => {})
    }
  })
})
