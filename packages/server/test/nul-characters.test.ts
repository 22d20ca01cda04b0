/**
 * U+0000 in request strings. PostgreSQL text cannot hold it, so before every string schema refused
 * it, a NUL in a name or a message was stored on SQLite and a 500 on PostgreSQL. Now it is a 400
 * naming the field on both engines; metadata, stored as JSON text, keeps it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES } from './helpers/databases.js'
import { type TestParley, startParley } from './helpers/parley.js'

describe.each(ENGINES)('U+0000 on %s', (engine) => {
  let t: TestParley
  let key: string
  let conversationId: string
  beforeAll(async () => {
    t = await startParley({ engine })
    key = (await t.createTenant()).liveKey
    await t.call('POST', '/v1/users', { auth: key, body: { id: 'writer' } })
    conversationId = (await t.call('POST', '/v1/conversations', { auth: key, body: { type: 'group', members: ['writer'] } })).body.id
  })
  afterAll(() => t?.close())

  it.each([
    ['a user’s displayName', 'POST', '/v1/users', { id: 'nul', displayName: 'a\u0000b' }, 'displayName'],
    ['a conversation name', 'POST', '/v1/conversations', { type: 'group', members: ['writer'], name: 'n\u0000' }, 'name'],
    ['a member id', 'POST', '/v1/conversations', { type: 'group', members: ['writer\u0000'] }, 'members[0]'],
    ['a message text', 'POST', () => `/v1/conversations/${conversationId}/messages`, { text: 'hi\u0000', senderId: 'writer' }, 'text'],
    ['a key name', 'POST', '/v1/keys', { name: 'k\u0000', type: 'secret' }, 'name'],
    ['a path id', 'GET', '/v1/keys/key%00', undefined, 'id'],
    ['a query cursor', 'GET', '/v1/keys?cursor=a%00', undefined, 'cursor'],
  ] as const)('in %s → 400 validation_failed naming it', async (_what, method, path, body, param) => {
    const res = await t.call(method, typeof path === 'function' ? path() : path, { auth: key, body })
    expect(res.status, res.text).toBe(400)
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ param, message: 'must not contain the character U+0000' }] })
  })

  it('inside metadata is kept, keys and values alike', async () => {
    const metadata = { 'k\u0000': 'v\u0000' }
    const res = await t.call('POST', `/v1/conversations/${conversationId}/messages`, { auth: key, body: { text: 'hi', senderId: 'writer', metadata } })
    expect(res.status, res.text).toBe(201)
    const history = await t.call('GET', `/v1/conversations/${conversationId}/messages`, { auth: key })
    expect(history.body.data.at(-1).metadata).toEqual(metadata)
  })
})
