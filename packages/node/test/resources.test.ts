/**
 * Every method of @parley/node's resources against a real Parley (in process, on a real port):
 * each one reaches its route and answers the API's object.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { listeningWorld } from '../../server/test/helpers/realtime.js'
import { NotFoundError, Parley } from '../src/index.js'

let t: TestParley
let world: ChatWorld
let url: string
let parley: Parley

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld({ PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true' }))
  parley = new Parley({ apiKey: world.key, apiUrl: url })
})
afterAll(() => t?.close())

describe('users and tokens', () => {
  it('upserts (created, then updated), gets, lists, updates, revokes tokens and deletes', async () => {
    expect(await parley.users.upsert({ id: 'ann', displayName: 'Ann' })).toMatchObject({ created: true, user: { id: 'ann', displayName: 'Ann', kind: 'user' } })
    expect(await parley.users.upsert({ id: 'ann', displayName: 'Ann B.' })).toMatchObject({ created: false, user: { displayName: 'Ann B.' } })
    expect(await parley.users.get('ann')).toMatchObject({ id: 'ann', displayName: 'Ann B.' })
    const page = await parley.users.list({ limit: 200 })
    expect(page.data.map((user) => user.id)).toContain('ann')
    expect(page).toHaveProperty('nextCursor')
    expect(await parley.users.update('ann', { username: 'ann.b' })).toMatchObject({ username: 'ann.b' })

    const { token, expiresAt } = await parley.tokens.create({ userId: 'ann', expiresIn: 600 })
    const me = await fetch(`${url}/v1/identity/me`, { headers: { authorization: `Bearer ${token}` } })
    expect(me.status).toBe(200)
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(600_000)
    await expect(parley.users.revokeTokens('ann')).resolves.toBeUndefined()
    expect((await fetch(`${url}/v1/identity/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401)

    await expect(parley.users.delete('ann')).resolves.toBeUndefined()
    await expect(parley.users.get('ann')).rejects.toBeInstanceOf(NotFoundError)
  })
})

describe('keys and usage', () => {
  it('creates, lists, gets, updates, rolls, revokes and reads usage', async () => {
    const created = await parley.keys.create({ name: 'ci', type: 'secret', scopes: ['users:read'] })
    expect(created.key).toMatch(/^sk_live_/)
    const ci = new Parley({ apiKey: created.key, apiUrl: url })
    await ci.users.list()

    expect((await parley.keys.list()).data.map((key) => key.id)).toContain(created.id)
    expect(await parley.keys.get(created.id)).toMatchObject({ id: created.id, name: 'ci', status: 'active' })
    expect(await parley.keys.update(created.id, { name: 'ci-2' })).toMatchObject({ name: 'ci-2' })
    const usage = await parley.keys.usage(created.id, { granularity: 'day' })
    expect(usage).toMatchObject({ granularity: 'day' })
    expect(Array.isArray(usage.series)).toBe(true)

    const rolled = await parley.keys.roll(created.id, { expiresInSeconds: 60 })
    expect(rolled.key).toMatch(/^sk_live_/)
    expect(rolled.key).not.toBe(created.key)
    expect(await parley.keys.revoke(rolled.id)).toMatchObject({ id: rolled.id, status: 'revoked' })

    const tenantUsage = await parley.usage.get({ granularity: 'hour' })
    expect(tenantUsage).toHaveProperty('totals')
    expect(Array.isArray(tenantUsage.keys)).toBe(true)
  })
})

describe('conversations and messages', () => {
  it('creates, lists, gets, updates, manages members and deletes conversations', async () => {
    await world.users('cam', 'dee', 'eve')
    const group = await parley.conversations.create({ type: 'group', name: 'Team', members: ['cam', 'dee'] })
    expect(group).toMatchObject({ type: 'group', name: 'Team' })
    expect((await parley.conversations.list({ userId: 'cam' })).data.map((c) => c.id)).toContain(group.id)
    expect(await parley.conversations.update(group.id, { name: 'Team 2' })).toMatchObject({ name: 'Team 2' })
    await parley.conversations.addMembers(group.id, ['eve'])
    await parley.conversations.removeMember(group.id, 'dee')
    const got = await parley.conversations.get(group.id)
    expect(got.members.map((member) => member.userId).sort()).toEqual(['cam', 'eve'])
    await expect(parley.conversations.delete(group.id)).resolves.toBeUndefined()
    await expect(parley.conversations.get(group.id)).rejects.toBeInstanceOf(NotFoundError)
  })

  it('sends (idempotently with a clientMessageId), lists, edits and deletes messages', async () => {
    await world.users('fay', 'gus')
    const { id } = await parley.conversations.create({ type: 'direct', members: ['fay', 'gus'] })
    const first = await parley.messages.send(id, { senderId: 'fay', text: 'hi', clientMessageId: 'c-1' })
    const again = await parley.messages.send(id, { senderId: 'fay', text: 'hi', clientMessageId: 'c-1' })
    expect(again.id).toBe(first.id)
    await parley.messages.send(id, { senderId: 'gus', text: 'hello' })
    const history = await parley.messages.list(id, { after: 0 })
    expect(history).toMatchObject({ hasMore: false })
    expect(history.data.map((message) => message.text)).toEqual(['hi', 'hello'])
    expect(await parley.messages.edit(id, first.id, { text: 'hey' })).toMatchObject({ text: 'hey' })
    await parley.messages.delete(id, first.id)
    expect((await parley.messages.list(id)).data[0]).toMatchObject({ id: first.id, text: '' })
  })
})
