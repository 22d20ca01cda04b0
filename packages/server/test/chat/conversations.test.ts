/**
 * Conversations (API.md §5.1, §9 Conversations): direct uniqueness, groups, tenant-chosen ids,
 * limits, activity-ordered lists, owner-only management, membership changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld, rowsOf } from '../helpers/chat-world.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { sleep } from '../helpers/wait.js'

let t: TestParley
let w: ChatWorld
const tok: Record<string, string> = {}
const memberIds = (conversation: any) => conversation.members.map((m: any) => m.userId).sort()

beforeAll(async () => {
  t = await startParley()
  w = await chatWorld(t)
  for (const id of ['ann', 'bob', 'cat', 'dan']) tok[id] = await w.token(id)
})
afterAll(() => t?.close())

describe('direct conversations', () => {
  it('adds the session caller and returns the same conversation for the same pair, whoever asks', async () => {
    const created = await w.as(tok.ann!, 'POST', '/v1/conversations', { type: 'direct', members: ['bob'] })
    expect(created.status).toBe(201)
    expect(created.body.id).toMatch(/^conv_/)
    expect(memberIds(created.body)).toEqual(['ann', 'bob'])
    for (const [auth, members] of [
      [tok.ann!, ['bob']],
      [tok.ann!, ['bob', 'ann']],
      [tok.bob!, ['ann']],
      [w.key, ['bob', 'ann']],
    ] as const) {
      const again = await w.as(auth, 'POST', '/v1/conversations', { type: 'direct', members })
      expect(again.status).toBe(200)
      expect(again.body.id).toBe(created.body.id)
    }
  })

  it('re-creating a pair after one member left gives a conversation with both members again', async () => {
    const first = await w.as(tok.cat!, 'POST', '/v1/conversations', { type: 'direct', members: ['bob'] })
    expect((await w.as(tok.bob!, 'DELETE', `/v1/conversations/${first.body.id}/members/bob`)).status).toBe(204)
    const again = await w.as(tok.bob!, 'POST', '/v1/conversations', { type: 'direct', members: ['cat'] })
    expect([200, 201]).toContain(again.status)
    expect(memberIds(again.body)).toEqual(['bob', 'cat'])
    expect((await w.as(tok.bob!, 'GET', `/v1/conversations/${again.body.id}`)).status).toBe(200)
  })

  it.each([
    ['session, nobody else', 'ann', []],
    ['session, only itself', 'ann', ['ann']],
    ['session, two others', 'ann', ['bob', 'cat']],
    ['secret, one member', null, ['ann']],
    ['secret, one member twice', null, ['ann', 'ann']],
    ['secret, three members', null, ['ann', 'bob', 'cat']],
  ])('rejects a direct conversation without exactly two distinct members (%s)', async (_label, user, members) => {
    const auth = user ? tok[user]! : w.key
    const res = await w.as(auth, 'POST', '/v1/conversations', { type: 'direct', members })
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('validation_failed')
    expect(res.body.errors.map((e: any) => e.param)).toEqual(['members'])
  })
})

describe('groups', () => {
  it('keeps name and metadata, and the session creator is its owner', async () => {
    const res = await w.as(tok.ann!, 'POST', '/v1/conversations', { type: 'group', name: 'Team', members: ['bob', 'cat'], metadata: { project: 7 } })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ type: 'group', name: 'Team', metadata: { project: 7 }, lastSeq: 0, lastMessage: null })
    expect(res.body.members.map((m: any) => [m.userId, m.role, m.lastReadSeq])).toEqual([['ann', 'owner', 0], ['bob', 'member', 0], ['cat', 'member', 0]].sort())
    const fetched = await w.secret('GET', `/v1/conversations/${res.body.id}`)
    expect(fetched.body).toMatchObject({ name: 'Team', metadata: { project: 7 } })
  })

  it('accepts a tenant-chosen id once, then 409', async () => {
    const first = await w.secret('POST', '/v1/conversations', { id: 'support:ticket-42', type: 'group', members: ['ann'] })
    expect(first.status).toBe(201)
    expect(first.body.id).toBe('support:ticket-42')
    const second = await w.secret('POST', '/v1/conversations', { id: 'support:ticket-42', type: 'group', members: ['bob'] })
    expect(second.status).toBe(409)
    expect(second.body.code).toBe('conflict')
    expect(memberIds((await w.secret('GET', '/v1/conversations/support:ticket-42')).body)).toEqual(['ann'])
  })

  it('rejects unknown members with 404 user_not_found and creates nothing', async () => {
    const res = await w.secret('POST', '/v1/conversations', { id: 'ghost-room', type: 'group', members: ['ann', 'nobody'] })
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('user_not_found')
    expect((await w.secret('GET', '/v1/conversations/ghost-room')).status).toBe(404)
  })

  it('limits metadata to 8 KiB serialised, naming metadata', async () => {
    // {"x":"…"} is 8 bytes of JSON around the string.
    const fits = await w.secret('POST', '/v1/conversations', { type: 'group', members: ['ann'], metadata: { x: 'a'.repeat(8192 - 8) } })
    expect(fits.status).toBe(201)
    const over = await w.secret('POST', '/v1/conversations', { type: 'group', members: ['ann'], metadata: { x: 'a'.repeat(8192 - 7) } })
    expect(over.status).toBe(400)
    expect(over.body.errors.map((e: any) => e.param)).toEqual(['metadata'])
    const patch = await w.secret('PATCH', `/v1/conversations/${fits.body.id}`, { metadata: { x: 'b'.repeat(9000) } })
    expect(patch.status).toBe(400)
    expect(patch.body.errors.map((e: any) => e.param)).toEqual(['metadata'])
  })

  it('limits message text to 10,000 characters, naming text', async () => {
    const c = await w.group(['ann'])
    const url = `/v1/conversations/${c}/messages`
    expect((await w.secret('POST', url, { text: 'x'.repeat(10_000), senderId: 'ann' })).status).toBe(201)
    for (const text of ['x'.repeat(10_001), '']) {
      const res = await w.secret('POST', url, { text, senderId: 'ann' })
      expect(res.status).toBe(400)
      expect(res.body.code).toBe('validation_failed')
      expect(res.body.errors.map((e: any) => e.param)).toEqual(['text'])
    }
  })
})

describe('lists', () => {
  it('orders by last activity, newest first, with lastMessage and lastSeq, across cursor pages', async () => {
    const world = await chatWorld(t)
    const eve = await world.token('eve')
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      ids.push(await world.group(['eve'], { name: `c${i}` }))
      await sleep(3)
    }
    // Activity order after this: c1 (newest), c3, c4, c2, c0.
    for (const i of [3, 1]) {
      await world.send(ids[i]!, 'eve', `news in c${i}`)
      await sleep(3)
    }
    await world.send(ids[1]!, 'eve', 'more news in c1')
    const expected = [1, 3, 4, 2, 0].map((i) => ids[i])

    for (const auth of [eve, world.key]) {
      const seen: any[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const query: string = `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
        const res = await world.as(auth, 'GET', `/v1/conversations?${query}`)
        expect(res.status).toBe(200)
        expect(res.body.data.length).toBeLessThanOrEqual(2)
        seen.push(...res.body.data)
        cursor = res.body.nextCursor
        pages++
      } while (cursor)
      expect(pages).toBe(3)
      expect(seen.map((c) => c.id)).toEqual(expected)
      expect(seen[0]).toMatchObject({ lastSeq: 2, lastMessage: { seq: 2, text: 'more news in c1', senderId: 'eve' } })
      expect(seen[1]).toMatchObject({ lastSeq: 1, lastMessage: { seq: 1, text: 'news in c3' } })
      expect(seen[2]).toMatchObject({ lastSeq: 0, lastMessage: null })
    }
  })

  it('rejects limits out of range', async () => {
    for (const limit of [0, 201]) expect((await w.secret('GET', `/v1/conversations?limit=${limit}`)).status).toBe(400)
  })
})

describe('management', () => {
  let c: string
  beforeAll(async () => {
    const res = await w.as(tok.ann!, 'POST', '/v1/conversations', { type: 'group', name: 'Start', members: ['bob'] })
    c = res.body.id
  })

  it('lets the owner and the secret key patch, not a plain member', async () => {
    const byMember = await w.as(tok.bob!, 'PATCH', `/v1/conversations/${c}`, { name: 'Bob’s' })
    expect(byMember.status).toBe(403)
    expect(byMember.body.code).toBe('forbidden')
    const byOwner = await w.as(tok.ann!, 'PATCH', `/v1/conversations/${c}`, { name: 'Renamed', metadata: { a: 1 } })
    expect(byOwner.status).toBe(200)
    expect(byOwner.body).toMatchObject({ id: c, name: 'Renamed', metadata: { a: 1 } })
    const bySecret = await w.secret('PATCH', `/v1/conversations/${c}`, { name: null })
    expect(bySecret.body).toMatchObject({ name: null, metadata: { a: 1 } })
    expect((await w.secret('GET', `/v1/conversations/${c}`)).body).toMatchObject({ name: null, metadata: { a: 1 } })
  })

  it('adds and removes members; a plain member may leave but not remove others', async () => {
    const added = await w.as(tok.ann!, 'POST', `/v1/conversations/${c}/members`, { userIds: ['cat', 'dan', 'cat'] })
    expect(added.status).toBe(200)
    expect(memberIds(added.body)).toEqual(['ann', 'bob', 'cat', 'dan'])
    expect((await w.as(tok.bob!, 'POST', `/v1/conversations/${c}/members`, { userIds: ['eve'] })).status).toBe(403)
    expect((await w.secret('POST', `/v1/conversations/${c}/members`, { userIds: ['nobody'] })).body.code).toBe('user_not_found')

    expect((await w.as(tok.bob!, 'DELETE', `/v1/conversations/${c}/members/cat`)).status).toBe(403)
    expect((await w.as(tok.bob!, 'DELETE', `/v1/conversations/${c}/members/bob`)).status).toBe(204)
    expect((await w.as(tok.bob!, 'GET', `/v1/conversations/${c}`)).status).toBe(403)
    expect((await w.as(tok.ann!, 'DELETE', `/v1/conversations/${c}/members/cat`)).status).toBe(204)
    expect((await w.secret('DELETE', `/v1/conversations/${c}/members/dan`)).status).toBe(204)
    const gone = await w.secret('DELETE', `/v1/conversations/${c}/members/dan`)
    expect(gone.status).toBe(404)
    expect(gone.body.code).toBe('not_found')
    expect(memberIds((await w.secret('GET', `/v1/conversations/${c}`)).body)).toEqual(['ann'])
  })

  it('keeps a direct conversation at two members', async () => {
    const direct = await w.as(tok.cat!, 'POST', '/v1/conversations', { type: 'direct', members: ['dan'] })
    const res = await w.secret('POST', `/v1/conversations/${direct.body.id}/members`, { userIds: ['ann'] })
    expect(res.status).toBe(400)
  })

  it('deletes with 204, then 404, taking members and messages with it', async () => {
    const d = await w.group(['ann', 'bob'])
    await w.send(d, 'bob')
    expect((await w.secret('DELETE', `/v1/conversations/${d}`)).status).toBe(204)
    expect((await w.secret('GET', `/v1/conversations/${d}`)).status).toBe(404)
    expect((await w.secret('DELETE', `/v1/conversations/${d}`)).status).toBe(404)
    expect((await w.secret('GET', `/v1/conversations/${d}/messages`)).status).toBe(404)
    expect(await rowsOf(t, 'messages', d)).toHaveLength(0)
    expect(await rowsOf(t, 'members', d)).toHaveLength(0)
  })

  it('removes a deleted user from its conversations and keeps its messages', async () => {
    await w.users('zed')
    const a = await w.group(['ann', 'zed'])
    const b = await w.group(['bob', 'zed'])
    await w.send(a, 'zed', 'last words')
    expect((await w.secret('DELETE', '/v1/users/zed')).status).toBe(204)
    expect(memberIds((await w.secret('GET', `/v1/conversations/${a}`)).body)).toEqual(['ann'])
    expect(memberIds((await w.secret('GET', `/v1/conversations/${b}`)).body)).toEqual(['bob'])
    const history = await w.secret('GET', `/v1/conversations/${a}/messages`)
    expect(history.body.data.map((m: any) => [m.senderId, m.text])).toEqual([['zed', 'last words']])
  })
})
