/**
 * Domain events (events/envelope.ts, API.md §6 names): every change to chat state yields exactly
 * one event, the same on the in-process bus and in the `events` outbox, committed with the change;
 * no-ops and failed changes yield none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventConsumers } from '../../src/events/consumers.js'
import type { DomainEvent, EventData, EventType } from '../../src/events/envelope.js'
import { type ChatWorld, chatWorld, rowsOf } from '../helpers/chat-world.js'
import { ENGINES } from '../helpers/databases.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { ISO_TIMESTAMP } from '../helpers/values.js'

describe.each(ENGINES)('domain events on %s', (engine) => {
  let t: TestParley
  let w: ChatWorld
  const tok: Record<string, string> = {}

  beforeAll(async () => {
    t = await startParley({ engine })
    w = await chatWorld(t)
    for (const id of ['ann', 'bob', 'cat']) tok[id] = await w.token(id)
  })
  afterAll(() => t?.close())

  /** The events published and the events stored while `change` ran, checked to match. */
  async function capture(change: () => Promise<unknown>) {
    const db = t.parley.store.db
    const top = await db.selectFrom('events').select((eb) => eb.fn.max('position').as('top')).executeTakeFirst()
    const before = Number(top?.top ?? 0)
    const bus: DomainEvent[] = []
    const off = t.parley.services.events.subscribe((event) => bus.push(event))
    try {
      await change()
    } finally {
      off()
    }
    // Read back as a consumer reads them: the same events, content included, in the same order.
    const stored = await new EventConsumers(db).read(before, 1000)
    expect(stored.map(({ position: _, ...event }) => event)).toEqual(JSON.parse(JSON.stringify(bus)))
    for (const event of bus) {
      expect(Object.keys(event).sort()).toEqual(['conversationId', 'createdAt', 'data', 'environment', 'id', 'tenantId', 'type'])
      expect(event.id).toMatch(/^evt_[A-Za-z0-9]{16,}$/)
      expect(event.createdAt).toMatch(ISO_TIMESTAMP)
    }
    return bus
  }

  /** Exactly one event of `type` for conversation `c` in this tenant's live environment; its data, typed. */
  const expectOne = <T extends EventType>(events: DomainEvent[], type: T, c: string): EventData<T> => {
    expect(events.map((e) => [e.type, e.conversationId, e.tenantId, e.environment])).toEqual([[type, c, w.tenant.id, 'live']])
    return events[0]!.data as EventData<T>
  }

  it('conversation.created, once; re-creating a direct pair emits nothing', async () => {
    let id = ''
    const created = await capture(async () => {
      id = (await w.as(tok.ann!, 'POST', '/v1/conversations', { type: 'direct', members: ['bob'] })).body.id
    })
    const data = expectOne(created, 'conversation.created', id)
    expect(data).toMatchObject({ id, type: 'direct' })
    expect(data.members.map((m: any) => m.userId).sort()).toEqual(['ann', 'bob'])
    const again = await capture(() => w.as(tok.bob!, 'POST', '/v1/conversations', { type: 'direct', members: ['ann'] }))
    expect(again).toEqual([])
  })

  it('message.created/updated/deleted, once each; retries and repeated deletes emit nothing', async () => {
    const c = await w.group(['ann', 'bob'])
    const url = `/v1/conversations/${c}/messages`
    let message: any
    const sent = await capture(async () => {
      message = (await w.as(tok.ann!, 'POST', url, { text: 'hi', clientMessageId: 'k1' })).body
    })
    expect(expectOne(sent, 'message.created', c)).toMatchObject({ id: message.id, seq: 1, senderId: 'ann', text: 'hi' })
    const retry = await capture(async () => expect((await w.as(tok.ann!, 'POST', url, { text: 'hi', clientMessageId: 'k1' })).status).toBe(200))
    expect(retry).toEqual([])

    const edited = await capture(() => w.as(tok.ann!, 'PATCH', `${url}/${message.id}`, { text: 'hello' }))
    expect(expectOne(edited, 'message.updated', c)).toMatchObject({ id: message.id, text: 'hello' })
    const deleted = await capture(() => w.as(tok.ann!, 'DELETE', `${url}/${message.id}`))
    expect(expectOne(deleted, 'message.deleted', c)).toMatchObject({ id: message.id, seq: 1, text: '', metadata: null })
    const twice = await capture(async () => expect((await w.as(tok.ann!, 'DELETE', `${url}/${message.id}`)).status).toBe(204))
    expect(twice).toEqual([])
  })

  it('conversation.updated, member.added per new member, member.removed, conversation.deleted', async () => {
    const c = await w.group(['ann'])
    const patched = await capture(() => w.secret('PATCH', `/v1/conversations/${c}`, { name: 'New name' }))
    expect(expectOne(patched, 'conversation.updated', c)).toMatchObject({ id: c, name: 'New name' })

    const added = await capture(() => w.secret('POST', `/v1/conversations/${c}/members`, { userIds: ['bob', 'cat', 'ann'] }))
    expect(added.map((e) => [e.type, e.conversationId, (e.data as any).userId])).toEqual([
      ['member.added', c, 'bob'],
      ['member.added', c, 'cat'],
    ])
    expect(await capture(() => w.secret('POST', `/v1/conversations/${c}/members`, { userIds: ['bob'] }))).toEqual([])

    const removed = await capture(() => w.as(tok.cat!, 'DELETE', `/v1/conversations/${c}/members/cat`))
    expect(expectOne(removed, 'member.removed', c)).toMatchObject({ conversationId: c, userId: 'cat' })

    const gone = await capture(() => w.secret('DELETE', `/v1/conversations/${c}`))
    expect(expectOne(gone, 'conversation.deleted', c)).toMatchObject({ id: c })
  })

  it('read.updated only when the read position moves', async () => {
    const c = await w.group(['ann', 'bob'])
    for (let i = 0; i < 3; i++) await w.send(c, 'bob')
    const read = (seq: number) => capture(() => w.as(tok.ann!, 'POST', `/v1/conversations/${c}/read`, { seq }))
    expect(expectOne(await read(2), 'read.updated', c)).toEqual({ conversationId: c, userId: 'ann', lastReadSeq: 2 })
    expect(await read(2)).toEqual([])
    expect(await read(1)).toEqual([])
    expect(expectOne(await read(50), 'read.updated', c)).toEqual({ conversationId: c, userId: 'ann', lastReadSeq: 3 })
    expect(await read(60)).toEqual([])
  })

  it('failed changes emit nothing', async () => {
    const c = await w.as(tok.ann!, 'POST', '/v1/conversations', { id: 'evt-room', type: 'group', members: ['bob'] })
    const m = await w.send(c.body.id, 'bob')
    const failures: [number, () => Promise<any>][] = [
      [400, () => w.secret('POST', '/v1/conversations/evt-room/messages', { text: 'x', senderId: 'cat' })],
      [400, () => w.secret('POST', '/v1/conversations/evt-room/messages', { text: 'x' })],
      [400, () => w.as(tok.ann!, 'POST', '/v1/conversations/evt-room/messages', { text: 'x', senderId: 'bob' })],
      [400, () => w.secret('POST', '/v1/conversations/evt-room/messages', { text: 'x'.repeat(10_001), senderId: 'bob' })],
      [403, () => w.as(tok.cat!, 'POST', '/v1/conversations/evt-room/messages', { text: 'x' })],
      [403, () => w.as(tok.bob!, 'PATCH', '/v1/conversations/evt-room', { name: 'nope' })],
      [403, () => w.as(tok.ann!, 'PATCH', `/v1/conversations/evt-room/messages/${m.id}`, { text: 'nope' })],
      [404, () => w.secret('POST', '/v1/conversations', { type: 'group', members: ['ghost'] })],
      [404, () => w.secret('DELETE', '/v1/conversations/evt-room/members/cat')],
      [409, () => w.secret('POST', '/v1/conversations', { id: 'evt-room', type: 'group', members: ['cat'] })],
    ]
    for (const [status, change] of failures) {
      const events = await capture(async () => expect((await change()).status).toBe(status))
      expect(events).toEqual([])
    }
  })

  it('commits the outbox with the change: one message.created row per stored message', async () => {
    const c = await w.group(['ann', 'bob', 'cat'])
    const url = `/v1/conversations/${c}/messages`
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 4 === 0
          ? w.as(tok.ann!, 'POST', url, { text: 'dup', clientMessageId: 'same' }) // 10 sends, 1 message
          : w.secret('POST', url, { text: `m${i}`, senderId: i % 2 ? 'bob' : 'cat' }),
      ),
    )
    const messages = await rowsOf(t, 'messages', c)
    const events = (await rowsOf(t, 'events', c)) as { type: string; data: string }[]
    const created = events.filter((e) => e.type === 'message.created')
    expect(messages).toHaveLength(31)
    expect(created).toHaveLength(messages.length)
    expect(created.map((e) => JSON.parse(e.data).id).sort()).toEqual(messages.map((m: any) => m.id).sort())
  })

  it('shows on /metrics how far each consumer is behind the outbox', async () => {
    const consumers = new EventConsumers(t.parley.store.db)
    const lagOnMetrics = async () => {
      const text = (await t.call('GET', '/metrics', { auth: t.adminKey })).text
      return Number(/^parley_event_consumer_lag\{consumer="lag-probe"\} (\d+)$/m.exec(text)?.[1])
    }
    const start = await consumers.register('lag-probe')
    try {
      const c = await w.group(['ann', 'bob'])
      for (let i = 0; i < 3; i++) await w.secret('POST', `/v1/conversations/${c}/messages`, { text: `lag ${i}`, senderId: 'ann' })
      // conversation.created, member events and three messages, all after the probe's position.
      const behind = (await consumers.lags()).get('lag-probe')!
      expect(behind).toBeGreaterThanOrEqual(4)
      expect(await lagOnMetrics()).toBe(behind)
      await consumers.advance('lag-probe', start + behind)
      expect(await lagOnMetrics()).toBe(0)
    } finally {
      await consumers.unregister('lag-probe')
    }
  })

  it('carries the environment of the change', async () => {
    await w.t.call('POST', '/v1/users', { auth: w.tenant.testKey, body: { id: 'tess' } })
    const events = await capture(() => w.t.call('POST', '/v1/conversations', { auth: w.tenant.testKey, body: { type: 'group', members: ['tess'] } }))
    expect(events.map((e) => [e.type, e.environment, e.tenantId])).toEqual([['conversation.created', 'test', w.tenant.id]])
  })
})
