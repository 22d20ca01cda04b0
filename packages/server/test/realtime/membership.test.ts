/**
 * Membership changes on open sockets (API.md §6): a new conversation subscribes its members'
 * open sockets at once, leaving or deletion unsubscribes them, and a deleted user's sockets close.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld } from '../helpers/chat-world.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { connect, eventsOf, sleep } from '../helpers/realtime.js'

let t: TestParley
let world: ChatWorld
let url: string

beforeAll(async () => {
  t = await startParley()
  world = await chatWorld(t)
  url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
  await world.users('amy', 'ben', 'cat', 'dan')
})
afterAll(() => t.close())

describe('joining', () => {
  it('tells every open socket of every member about a new group, and subscribes them', async () => {
    const amyPhone = await connect(url, await world.token('amy'))
    const amyLaptop = await connect(url, await world.token('amy'))
    const ben = await connect(url, await world.token('ben'))
    const cat = await connect(url, await world.token('cat')) // not a member

    const created = await t.call('POST', '/v1/conversations', { auth: await world.token('amy'), body: { type: 'group', name: 'g', members: ['ben'] } })
    expect(created.status).toBe(201)
    const id = created.body.id as string
    for (const socket of [amyPhone, amyLaptop, ben]) {
      const event = await socket.next((f) => f.event === 'conversation.created')
      expect(event.conversationId).toBe(id)
      expect(event.data.members.map((m: any) => m.userId).sort()).toEqual(['amy', 'ben'])
    }

    await world.send(id, 'ben', 'first words')
    for (const socket of [amyPhone, amyLaptop, ben]) {
      expect((await socket.next((f) => f.event === 'message.created')).data.text).toBe('first words')
    }
    await sleep(100)
    expect(cat.frames.filter((f) => f.type === 'event')).toEqual([])
    for (const s of [amyPhone, amyLaptop, ben, cat]) s.close()
  })

  it('subscribes the sockets of members added later, and only theirs', async () => {
    const id = await world.group(['amy', 'ben'])
    const cat = await connect(url, await world.token('cat'))
    const dan = await connect(url, await world.token('dan'))
    expect((await world.secret('POST', `/v1/conversations/${id}/members`, { userIds: ['cat'] })).status).toBeLessThan(300)
    await cat.next((f) => f.event === 'member.added' && f.data.userId === 'cat')
    await world.send(id, 'amy', 'welcome cat')
    expect((await cat.next((f) => f.event === 'message.created')).data.text).toBe('welcome cat')
    await sleep(100)
    expect(dan.frames.filter((f) => f.type === 'event')).toEqual([])
    for (const s of [cat, dan]) s.close()
  })
})

describe('leaving', () => {
  it('unsubscribes every member’s sockets when the conversation is deleted', async () => {
    const id = `conv_reused_${Date.now()}`
    expect((await world.secret('POST', '/v1/conversations', { id, type: 'group', members: ['amy', 'ben'] })).status).toBe(201)
    const amy = await connect(url, await world.token('amy'))
    const cat = await connect(url, await world.token('cat'))
    expect((await world.secret('DELETE', `/v1/conversations/${id}`)).status).toBe(204)
    expect((await amy.next((f) => f.event === 'conversation.deleted')).conversationId).toBe(id)

    // The same id again, without amy: nothing of it may reach her socket.
    const again = await world.secret('POST', '/v1/conversations', { id, type: 'group', members: ['ben', 'cat'] })
    expect(again.status).toBe(201)
    await world.send(id, 'ben', 'amy is not here')
    expect((await cat.next((f) => f.event === 'message.created')).data.text).toBe('amy is not here')
    await sleep(100)
    expect(amy.frames.filter((f) => f.conversationId === id).map((f) => f.event)).toEqual(['conversation.deleted'])
    for (const s of [amy, cat]) s.close()
  })

  it('unsubscribes a member removed by someone else, after telling it', async () => {
    const id = await world.group(['amy', 'ben', 'cat'])
    const cat = await connect(url, await world.token('cat'))
    expect((await world.secret('DELETE', `/v1/conversations/${id}/members/cat`)).status).toBe(204)
    await cat.next((f) => f.event === 'member.removed' && f.data.userId === 'cat')
    await world.send(id, 'amy', 'behind cat’s back')
    await sleep(100)
    expect(eventsOf(cat, 'message.created', id)).toEqual([])
    cat.send({ type: 'typing', conversationId: id, state: 'start' })
    expect(await cat.next((f) => f.type === 'error')).toMatchObject({ code: 'forbidden' })
    cat.close()
  })
})

describe('deleted users', () => {
  it('closes a deleted user’s sockets with 4003, while the other members carry on', async () => {
    await world.users('eve')
    const id = await world.group(['amy', 'eve'])
    const eve = [await connect(url, await world.token('eve')), await connect(url, await world.token('eve'))]
    const amy = await connect(url, await world.token('amy'))
    expect((await world.secret('DELETE', '/v1/users/eve')).status).toBe(204)
    for (const socket of eve) expect(await socket.closed()).toBe(4003)

    await world.send(id, 'amy', 'eve has gone')
    expect((await amy.next((f) => f.event === 'message.created' && f.conversationId === id)).data.text).toBe('eve has gone')
    expect(amy.ws.readyState).toBe(amy.ws.OPEN)
    amy.close()
  })
})
