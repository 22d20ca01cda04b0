/**
 * Object-level authorization over every conversation and message route (API.md §4.3, §5, §9):
 * not a member → 403; another tenant or environment → 404 exactly like a nonexistent id;
 * visitors only create, list, read and send; nobody speaks or edits for someone else.
 */
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld, rowsOf } from '../helpers/chat-world.js'
import { type TestParley, startParley } from '../helpers/parley.js'

interface Route {
  name: string
  method: InjectOptions['method']
  url: string
  body?: unknown
}

/** Every route that takes a conversation id (DELETE conversation last: it is destructive). */
function routesOn(c: string, messageId: string, member: string, joiner: string, secret = false): Route[] {
  const as = secret ? { senderId: member } : {}
  return [
    { name: 'GET conversation', method: 'GET', url: `/v1/conversations/${c}` },
    { name: 'PATCH conversation', method: 'PATCH', url: `/v1/conversations/${c}`, body: { name: 'pwned' } },
    { name: 'POST members', method: 'POST', url: `/v1/conversations/${c}/members`, body: { userIds: [joiner] } },
    { name: 'DELETE member', method: 'DELETE', url: `/v1/conversations/${c}/members/${member}` },
    { name: 'POST messages', method: 'POST', url: `/v1/conversations/${c}/messages`, body: { text: 'intrusion', ...as } },
    { name: 'GET messages', method: 'GET', url: `/v1/conversations/${c}/messages` },
    { name: 'PATCH message', method: 'PATCH', url: `/v1/conversations/${c}/messages/${messageId}`, body: { text: 'pwned' } },
    { name: 'DELETE message', method: 'DELETE', url: `/v1/conversations/${c}/messages/${messageId}` },
    { name: 'POST read', method: 'POST', url: `/v1/conversations/${c}/read`, body: { seq: 1, ...(secret && { userId: member }) } },
    { name: 'DELETE conversation', method: 'DELETE', url: `/v1/conversations/${c}` },
  ]
}

let t: TestParley
let w: ChatWorld
let other: ChatWorld
let conv: string
let message: any
const tok: Record<string, string> = {}

beforeAll(async () => {
  t = await startParley()
  w = await chatWorld(t)
  other = await chatWorld(t)
  for (const id of ['ann', 'bob', 'cat']) tok[id] = await w.token(id)
  conv = await w.group(['bob', 'cat'], { name: 'private' })
  message = await w.send(conv, 'bob', 'secret plans')
})
afterAll(() => t?.close())

/** B's conversation is exactly as it was: name, members, the one message. */
async function expectUntouched() {
  const detail = await w.secret('GET', `/v1/conversations/${conv}`)
  expect(detail.status).toBe(200)
  expect(detail.body.name).toBe('private')
  expect(detail.body.members.map((m: any) => [m.userId, m.lastReadSeq])).toEqual([['bob', 0], ['cat', 0]])
  const rows = await rowsOf(t, 'messages', conv)
  expect(rows.map((r) => [r.seq, r.text, r.deleted_at])).toEqual([[1, 'secret plans', null]])
}

describe('a user of the same tenant who is not a member', () => {
  it.each(['GET conversation', 'PATCH conversation', 'POST members', 'DELETE member', 'POST messages', 'GET messages', 'PATCH message', 'DELETE message', 'POST read', 'DELETE conversation'])(
    '%s → 403 forbidden',
    async (name) => {
      const route = routesOn(conv, message.id, 'bob', 'ann').find((r) => r.name === name)!
      const res = await w.as(tok.ann!, route.method, route.url, route.body)
      expect(res.status).toBe(403)
      expect(res.body.code).toBe('forbidden')
    },
  )

  it('cannot leave (remove itself from) a conversation it is not in, nor list another user’s conversations', async () => {
    const leave = await w.as(tok.ann!, 'DELETE', `/v1/conversations/${conv}/members/ann`)
    expect(leave.status).toBe(403)
    const list = await w.as(tok.ann!, 'GET', '/v1/conversations?userId=bob')
    expect(list.status).toBe(403)
    expect(list.body.code).toBe('forbidden')
    const own = await w.as(tok.ann!, 'GET', '/v1/conversations')
    expect(own.body.data.map((c: any) => c.id)).not.toContain(conv)
    await expectUntouched()
  })

  it('gets 404 for another conversation’s message addressed through its own conversation', async () => {
    const mine = await w.group(['ann', 'bob'])
    for (const method of ['PATCH', 'DELETE'] as const) {
      const res = await w.as(tok.bob!, method, `/v1/conversations/${mine}/messages/${message.id}`, method === 'PATCH' ? { text: 'x' } : undefined)
      expect(res.status).toBe(404)
    }
    await expectUntouched()
  })
  it('re-creating a direct pair does not disclose a conversation the caller is no longer in', async () => {
    await w.users('zoe')
    const dm = await w.as(tok.ann!, 'POST', '/v1/conversations', { type: 'direct', members: ['zoe'] })
    await w.send(dm.body.id, 'ann', 'for the old zoe only')
    expect((await w.secret('DELETE', '/v1/users/zoe')).status).toBe(204)
    const newZoe = await w.token('zoe') // a new user under the recycled id
    const res = await w.as(newZoe, 'POST', '/v1/conversations', { type: 'direct', members: ['ann'] })
    const member = res.body?.members?.some((m: any) => m.userId === 'zoe') === true
    // Either the caller is (again) a member, or it must not see the conversation's content.
    if (!member) expect(JSON.stringify(res.body)).not.toContain('for the old zoe only')
    expect((await w.as(newZoe, 'GET', `/v1/conversations/${res.body.id}`)).status).toBe(200)
  })
})

describe('callers of another tenant or environment get 404, like a nonexistent id', () => {
  const callers: [string, () => Promise<string>][] = [
    ['another tenant’s secret key', async () => other.key],
    ['another tenant’s session (same user id bob)', () => other.token('bob')],
    ['a test-mode secret key', async () => w.tenant.testKey],
    ['a test-mode token (same user id bob)', () => w.token('bob', { environment: 'test' })],
  ]

  it.each(callers)('%s', async (_label, credential) => {
    const auth = await credential()
    const secret = auth.startsWith('sk_')
    const real = routesOn(conv, message.id, 'bob', 'bob', secret)
    const missing = routesOn('conv_does_not_exist', 'msg_does_not_exist', 'bob', 'bob', secret)
    for (const [i, route] of real.entries()) {
      const res = await w.as(auth, route.method, route.url, route.body)
      const control = await w.as(auth, missing[i]!.method, missing[i]!.url, missing[i]!.body)
      expect({ route: route.name, status: res.status, code: res.body?.code }).toEqual({ route: route.name, status: 404, code: 'not_found' })
      expect(res.body.detail).toBe(control.body.detail)
    }
    const list = await w.as(auth, 'GET', secret ? '/v1/conversations?userId=bob' : '/v1/conversations')
    expect(list.status).toBe(200)
    expect(list.body.data.map((c: any) => c.id)).not.toContain(conv)
    await expectUntouched()
  })

  it('cannot name another tenant’s users as members, and ids do not collide across tenants', async () => {
    const unknown = await other.secret('POST', '/v1/conversations', { type: 'group', members: ['cat'] })
    expect(unknown.status).toBe(404)
    expect(unknown.body.code).toBe('user_not_found')
    await other.users('dan')
    const same = await other.secret('POST', '/v1/conversations', { id: 'shared-id', type: 'group', members: ['dan'] })
    expect(same.status).toBe(201)
    const mine = await w.secret('POST', '/v1/conversations', { id: 'shared-id', type: 'group', members: ['bob'] })
    expect(mine.status).toBe(201)
    expect(mine.body.members.map((m: any) => m.userId)).toEqual(['bob'])
  })
})

describe('visitors', () => {
  let v1: { id: string; token: string }
  let v2: { id: string; token: string }
  let visitorConv: string
  let visitorMessage: any

  beforeAll(async () => {
    v1 = await w.visitor('visitor-one')
    v2 = await w.visitor('visitor-two')
    // A visitor starts a conversation alone; the tenant adds its agent (§12).
    const created = await w.as(v1.token, 'POST', '/v1/conversations', { type: 'group', members: [] })
    expect(created.status).toBe(201)
    visitorConv = created.body.id
    const joined = await w.secret('POST', `/v1/conversations/${visitorConv}/members`, { userIds: ['ann'] })
    expect(joined.body.members.map((m: any) => m.userId).sort()).toEqual(['ann', v1.id].sort())
    const sent = await w.as(v1.token, 'POST', `/v1/conversations/${visitorConv}/messages`, { text: 'help please' })
    expect(sent.status).toBe(201)
    visitorMessage = sent.body
  })

  it('may list, read and send in their own conversation', async () => {
    const list = await w.as(v1.token, 'GET', '/v1/conversations')
    expect(list.body.data.map((c: any) => c.id)).toEqual([visitorConv])
    expect((await w.as(v1.token, 'GET', `/v1/conversations/${visitorConv}`)).status).toBe(200)
    const history = await w.as(v1.token, 'GET', `/v1/conversations/${visitorConv}/messages`)
    expect(history.body.data.map((m: any) => m.text)).toEqual(['help please'])
  })

  it('get 403 on every route of another visitor’s conversation', async () => {
    for (const route of routesOn(visitorConv, visitorMessage.id, v1.id, v2.id)) {
      const res = await w.as(v2.token, route.method, route.url, route.body)
      expect({ route: route.name, status: res.status, code: res.body?.code }).toEqual({ route: route.name, status: 403, code: 'forbidden' })
    }
    const list = await w.as(v2.token, 'GET', `/v1/conversations?userId=${v1.id}`)
    expect(list.status).toBe(403)
  })

  it.each([
    ['PATCH conversation'],
    ['POST members'],
    ['DELETE member'],
    ['PATCH message'],
    ['DELETE message'],
    ['DELETE conversation'],
  ])('get 403 for %s even in their own conversation', async (name) => {
    const route = routesOn(visitorConv, visitorMessage.id, 'ann', 'bob').find((r) => r.name === name)!
    const res = await w.as(v1.token, route.method, route.url, route.body)
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('forbidden')
    const detail = await w.secret('GET', `/v1/conversations/${visitorConv}`)
    expect(detail.body.members.map((m: any) => m.userId).sort()).toEqual(['ann', v1.id].sort())
    expect(detail.body.lastMessage).toMatchObject({ text: 'help please', editedAt: null, deletedAt: null })
  })
})

describe('messages of other members', () => {
  it('a member cannot edit or delete another member’s message', async () => {
    const shared = await w.group(['ann', 'bob'])
    const bobs = await w.send(shared, 'bob', 'mine')
    const edit = await w.as(tok.ann!, 'PATCH', `/v1/conversations/${shared}/messages/${bobs.id}`, { text: 'yours now' })
    expect(edit.status).toBe(403)
    expect(edit.body.code).toBe('forbidden')
    const del = await w.as(tok.ann!, 'DELETE', `/v1/conversations/${shared}/messages/${bobs.id}`)
    expect(del.status).toBe(403)
    const rows = await rowsOf(t, 'messages', shared)
    expect(rows.map((r) => [r.text, r.edited_at, r.deleted_at])).toEqual([['mine', null, null]])
  })

  it('a session caller cannot send as someone else, and nothing is stored', async () => {
    const shared = await w.group(['ann', 'bob'])
    const spoof = await w.as(tok.ann!, 'POST', `/v1/conversations/${shared}/messages`, { text: 'I am bob', senderId: 'bob' })
    expect(spoof.status).toBe(400)
    expect(spoof.body.code).toBe('validation_failed')
    expect(spoof.body.errors.map((e: any) => e.param)).toEqual(['senderId'])
    expect(await rowsOf(t, 'messages', shared)).toHaveLength(0)
    const history = await w.secret('GET', `/v1/conversations/${shared}/messages`)
    expect(history.body.data).toEqual([])
    // Naming itself is allowed and sends as itself.
    const self = await w.as(tok.ann!, 'POST', `/v1/conversations/${shared}/messages`, { text: 'me', senderId: 'ann' })
    expect(self.status).toBe(201)
    expect(self.body).toMatchObject({ senderId: 'ann', seq: 1 })
  })

  it('a secret key must name a sender, and the sender must be a member', async () => {
    const shared = await w.group(['ann', 'bob'])
    const url = `/v1/conversations/${shared}/messages`
    const missing = await w.secret('POST', url, { text: 'who am I' })
    expect(missing.status).toBe(400)
    expect(missing.body.code).toBe('validation_failed')
    expect(missing.body.errors.map((e: any) => e.param)).toEqual(['senderId'])
    for (const senderId of ['cat', 'nobody-at-all']) {
      const res = await w.secret('POST', url, { text: 'not a member', senderId })
      expect(res.status).toBe(400)
      expect(res.body.code).toBe('validation_failed')
      expect(res.body.errors.map((e: any) => e.param)).toEqual(['senderId'])
    }
    expect(await rowsOf(t, 'messages', shared)).toHaveLength(0)
    expect((await w.secret('POST', url, { text: 'ok', senderId: 'bob' })).body.seq).toBe(1)
  })
})
