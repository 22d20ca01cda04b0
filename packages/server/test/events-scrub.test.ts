/**
 * Stored events forget content that is gone (API.md §12, events/redaction.ts): editing or deleting
 * a message, or deleting a conversation or a user, removes the old text, names and metadata from
 * every stored event, in the transaction of the change. Checked through the API on every engine, by
 * looking for the old words anywhere in the events table; the lookups are index seeks on SQLite.
 */
import { CompiledQuery } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventConsumers } from '../src/events/consumers.js'
import { forgetConversation, forgetMessage, forgetMessagesOf, forgetUser } from '../src/events/redaction.js'
import { UnitOfWork } from '../src/events/unit-of-work.js'
import { type ChatWorld, chatWorld } from './helpers/chat-world.js'
import { ENGINES } from './helpers/databases.js'
import { type TestParley, startParley } from './helpers/parley.js'

describe.each(ENGINES)('stored events forget removed content on %s', (engine) => {
  let t: TestParley
  let w: ChatWorld

  beforeAll(async () => {
    t = await startParley({ engine })
    w = await chatWorld(t)
    await w.users('ann', 'bob')
  })
  afterAll(() => t?.close())

  /** Every column of every stored event, as one string to search. */
  const everything = async () => JSON.stringify(await t.parley.store.db.selectFrom('events').selectAll().execute())
  /** The stored events of a conversation as a consumer reads them. */
  const storedOf = async (conversationId: string) =>
    (await new EventConsumers(t.parley.store.db).read(0, 100_000)).filter((e) => e.conversationId === conversationId)

  const sendWith = async (c: string, text: string, metadata: Record<string, unknown>) => {
    const res = await w.secret('POST', `/v1/conversations/${c}/messages`, { text, metadata, senderId: 'ann' })
    expect(res.status).toBe(201)
    return res.body.id as string
  }

  it('an edit removes the earlier texts from stored events; the latest event keeps the current one', async () => {
    const c = await w.group(['ann', 'bob'])
    const id = await sendWith(c, 'first draft: falcon', { tag: 'kept-with-the-message' })
    const url = `/v1/conversations/${c}/messages/${id}`
    expect((await w.secret('PATCH', url, { text: 'second draft: heron' })).status).toBe(200)
    expect((await w.secret('PATCH', url, { text: 'final: kestrel' })).status).toBe(200)

    const stored = await everything()
    expect(stored).not.toContain('falcon')
    expect(stored).not.toContain('heron')
    const events = await storedOf(c)
    const ofMessage = events.filter((e) => e.type.startsWith('message.'))
    expect(ofMessage.map((e) => [e.type, (e.data as { text: string }).text])).toEqual([
      ['message.created', ''],
      ['message.updated', ''],
      ['message.updated', 'final: kestrel'],
    ])
    // An edit keeps the message's metadata: only the newest event still carries it.
    expect(ofMessage.map((e) => (e.data as { metadata: unknown }).metadata)).toEqual([null, null, { tag: 'kept-with-the-message' }])
    // Everything else about the message is still there, for consumers that order by seq.
    expect(ofMessage.every((e) => (e.data as { id: string; seq: number }).id === id && (e.data as { seq: number }).seq === 1)).toBe(true)
  })

  it('a deletion removes the text and metadata from every stored event of the message', async () => {
    const c = await w.group(['ann', 'bob'])
    const kept = await sendWith(c, 'this one stays: osprey', { note: 'osprey-meta' })
    const id = await sendWith(c, 'regrettable: albatross', { note: 'albatross-meta' })
    await w.secret('PATCH', `/v1/conversations/${c}/messages/${id}`, { text: 'still regrettable: petrel' })
    expect((await w.secret('DELETE', `/v1/conversations/${c}/messages/${id}`)).status).toBe(204)

    const stored = await everything()
    for (const word of ['albatross', 'petrel']) expect(stored).not.toContain(word)
    // Only that message: its neighbour's content is untouched.
    expect(stored).toContain('this one stays: osprey')
    expect(stored).toContain('osprey-meta')
    const events = await storedOf(c)
    expect(events.find((e) => e.type === 'message.created' && (e.data as { id: string }).id === kept)?.data).toMatchObject({
      text: 'this one stays: osprey',
      metadata: { note: 'osprey-meta' },
    })
  })

  it("deleting a conversation removes its name, metadata and every message's content from stored events", async () => {
    const c = await w.group(['ann', 'bob'], { name: 'Project Condor', metadata: { code: 'condor-meta' } })
    await w.secret('PATCH', `/v1/conversations/${c}`, { name: 'Project Condor II', metadata: { code: 'condor-meta-2' } })
    for (let i = 0; i < 3; i++) await sendWith(c, `condor message ${i}`, { n: `condor-n${i}` })
    const other = await w.group(['ann', 'bob'], { name: 'Project Swift' })
    await sendWith(other, 'swift message', { n: 'swift-n' })

    expect((await w.secret('DELETE', `/v1/conversations/${c}`)).status).toBe(204)
    const stored = await everything()
    expect(stored).not.toMatch(/condor/i)
    // The events themselves remain (ids, seqs, members), so consumers still learn what happened.
    expect((await storedOf(c)).map((e) => e.type)).toEqual([
      'conversation.created',
      'conversation.updated',
      'message.created',
      'message.created',
      'message.created',
      'conversation.deleted',
    ])
    // Other conversations keep theirs.
    for (const word of ['Project Swift', 'swift message', 'swift-n']) expect(stored).toContain(word)
  })

  it("deleting a user removes its profile from stored events, and keeps its messages as API.md §4.1 keeps them", async () => {
    const profile = { id: 'dora', username: 'dora-the-explorer', displayName: 'Dora Márquez', avatarUrl: 'https://example.com/dora.png', metadata: { plan: 'dora-meta' } }
    expect((await w.secret('POST', '/v1/users', profile)).status).toBe(201)
    expect((await w.secret('PATCH', '/v1/users/dora', { displayName: 'Dora M. II' })).status).toBe(200)
    const c = await w.group(['ann', 'dora'])
    expect((await w.secret('POST', `/v1/conversations/${c}/messages`, { text: 'dora was here: lynx', senderId: 'dora' })).status).toBe(201)

    expect((await w.secret('DELETE', '/v1/users/dora')).status).toBe(204)
    const stored = await everything()
    for (const word of ['dora-the-explorer', 'Dora Márquez', 'Dora M. II', 'dora.png', 'dora-meta']) expect(stored).not.toContain(word)
    // The message stays in history with its text, and so does its event; the user's leaving is an event.
    const history = await w.secret('GET', `/v1/conversations/${c}/messages`)
    expect(history.body.data.map((m: { text: string }) => m.text)).toEqual(['dora was here: lynx'])
    const events = await storedOf(c)
    expect(events.map((e) => e.type)).toEqual(['conversation.created', 'message.created', 'member.removed'])
    expect(events[1]!.data).toMatchObject({ text: 'dora was here: lynx', senderId: 'dora' })
  })

  it('forgets in the transaction of the change: a change that rolls back forgets nothing', async () => {
    const c = await w.group(['ann', 'bob'])
    const id = await sendWith(c, 'should survive: plover', { note: 'plover-meta' })
    const uow = new UnitOfWork(t.parley.store.db, t.parley.services.events)
    const scope = { tenantId: w.tenant.id, environment: 'live' as const }
    const failing = uow.run(async (_trx, _emit, redact) => {
      await redact.message(scope, id)
      await redact.conversation(scope, c)
      throw new Error('the change failed after forgetting')
    })
    await expect(failing).rejects.toThrow('the change failed after forgetting')
    const stored = await everything()
    expect(stored).toContain('should survive: plover')
    expect(stored).toContain('plover-meta')
  })

  it.runIf(engine === 'sqlite')('finds the rows to forget through the index of content, never by scanning events', async () => {
    const db = t.parley.store.db
    const scope = { tenantId: w.tenant.id, environment: 'live' as const }
    for (const query of [forgetMessage(db, scope, 'msg_x'), forgetConversation(db, scope, 'c'), forgetMessagesOf(db, scope, 'c'), forgetUser(db, scope, 'u')]) {
      const { sql, parameters } = query.compile()
      const { rows } = await db.executeQuery(CompiledQuery.raw(`explain query plan ${sql}`, [...parameters]))
      const plan = (rows as { detail: string }[]).map((r) => r.detail).join('\n')
      expect(plan).toMatch(/SEARCH events USING INDEX events_by_content \(tenant_id=\? AND environment=\? AND content_id=\?\)/)
      expect(plan).not.toMatch(/SCAN (events|messages)/)
    }
  })
})
