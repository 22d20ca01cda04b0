/**
 * MessageStore: gap-free seqs, multi-row inserts, lookups by id and by client message id, what a
 * resuming client missed, edits — all within one tenant environment.
 */
import { beforeAll, expect, it } from 'vitest'
import type { Conversation } from '../../src/conversations/model.js'
import { ConversationStore } from '../../src/conversations/store.js'
import { MessageStore } from '../../src/messages/store.js'
import type { Store } from '../../src/storage/database.js'
import type { OpenStore } from '../helpers/engines.js'
import { type Places, type Scope, conversationRecord, expectUniqueViolation, isoAt, memberRecord, messageRecord, nextId, twoTenants } from './fixtures.js'

export function messageStoreConformance(openStore: OpenStore): void {
  let store: Store
  let messages: MessageStore
  let conversations: ConversationStore
  let places: Places
  beforeAll(async () => {
    store = await openStore()
    messages = new MessageStore(store.db)
    conversations = new ConversationStore(store.db)
    places = await twoTenants(store)
  })

  async function conversationIn(scope: Scope, overrides: Partial<Conversation> = {}): Promise<Conversation> {
    const conversation = conversationRecord(scope, overrides)
    await conversations.insert(conversation, [memberRecord('u_sender')], store.db)
    return conversation
  }

  it('reserves seqs without gaps, moving the activity time and history revision; none for an unknown conversation', async () => {
    const c = await conversationIn(places.a)
    expect(await messages.reserveSeqs(places.a, c.id, 1, isoAt(1), store.db)).toBe(1)
    expect(await messages.reserveSeqs(places.a, c.id, 3, isoAt(2), store.db)).toBe(4)
    expect(await conversations.find(places.a, c.id)).toMatchObject({ lastSeq: 4, lastActivityAt: isoAt(2), historyRevision: 2 })
    expect(await messages.reserveSeqs(places.a, 'conv_missing', 1, isoAt(3), store.db)).toBeNull()
    expect(await messages.reserveSeqs(places.b, c.id, 1, isoAt(3), store.db)).toBeNull()
    expect(await messages.reserveSeqs(places.aTest, c.id, 1, isoAt(3), store.db)).toBeNull()
    expect((await conversations.find(places.a, c.id))?.lastSeq).toBe(4)
  })

  it('inserts more messages than one statement holds, and reads them back in order from any seq', async () => {
    const c = await conversationIn(places.a)
    const sent = Array.from({ length: 45 }, (_, i) => messageRecord(c.id, i + 1, { clientMessageId: i % 3 === 0 ? `client-${i}` : null }))
    await messages.insertMany(places.a, sent, store.db)
    expect(await messages.after(places.a, c.id, 0, 100)).toEqual(sent)
    expect(await messages.after(places.a, c.id, 10, 5)).toEqual(sent.slice(10, 15))
    expect(await messages.after(places.a, c.id, 45, 5)).toEqual([])
  })

  it('finds a message by id, or by its sender’s client message id, only in its conversation and tenant environment', async () => {
    const id = nextId('conv_')
    const mine = await conversationIn(places.a, { id })
    await conversationIn(places.b, { id })
    await conversationIn(places.aTest, { id })
    const elsewhere = await conversationIn(places.a)
    const message = messageRecord(mine.id, 1, { clientMessageId: 'client-1' })
    await messages.insertMany(places.a, [message], store.db)

    expect(await messages.find(places.a, id, message.id)).toEqual(message)
    expect(await messages.findByClientId(places.a, id, 'u_sender', 'client-1')).toEqual(message)
    expect(await messages.findByClientIds(places.a, [[id, 'u_sender', 'client-1'], [id, 'u_other', 'client-1']], store.db)).toEqual([message])
    expect(await messages.findByClientIds(places.a, [], store.db)).toEqual([])
    for (const scope of [places.b, places.aTest]) {
      expect(await messages.find(scope, id, message.id)).toBeNull()
      expect(await messages.findByClientId(scope, id, 'u_sender', 'client-1')).toBeNull()
      expect(await messages.findByClientIds(scope, [[id, 'u_sender', 'client-1']], store.db)).toEqual([])
      expect(await messages.after(scope, id, 0, 10)).toEqual([])
    }
    expect(await messages.find(places.a, elsewhere.id, message.id)).toBeNull()
    expect(await messages.findByClientId(places.a, id, 'u_other', 'client-1')).toBeNull()
  })

  it('tells which (conversation, user) pairs are memberships, in its own tenant environment only', async () => {
    const [c1, c2] = [await conversationIn(places.a), await conversationIn(places.a)]
    await conversations.addMembers(c2, [memberRecord('u_two')], store.db)
    const isMember = await messages.membersAmong(
      places.a,
      [
        [c1.id, 'u_sender'],
        [c1.id, 'u_two'],
        [c2.id, 'u_two'],
      ],
      store.db,
    )
    expect([isMember(c1.id, 'u_sender'), isMember(c1.id, 'u_two'), isMember(c2.id, 'u_two')]).toEqual([true, false, true])
    const elsewhere = await messages.membersAmong(places.b, [[c1.id, 'u_sender']], store.db)
    expect(elsewhere(c1.id, 'u_sender')).toBe(false)
  })

  it('edits and deletes a message, moving the history revision, and tells a resuming client what changed since', async () => {
    const c = await conversationIn(places.a)
    const sent = Array.from({ length: 6 }, (_, i) => messageRecord(c.id, i + 1))
    await messages.insertMany(places.a, sent, store.db)
    const revision = (await conversations.find(places.a, c.id))!.historyRevision

    // Message 5 was created at minute 5: a change at minute 3 was already seen with it.
    await messages.update(places.a, sent[0]!, { text: 'early edit', editedAt: isoAt(3) }, store.db)
    await messages.update(places.a, sent[1]!, { text: 'edited ✓', metadata: null, editedAt: isoAt(10) }, store.db)
    await messages.update(places.a, sent[2]!, { text: '', metadata: null, deletedAt: isoAt(11) }, store.db)
    await messages.update(places.a, sent[5]!, { text: 'after the seen one', editedAt: isoAt(12) }, store.db)

    const edited = { ...sent[1]!, text: 'edited ✓', metadata: null, editedAt: isoAt(10) }
    const deleted = { ...sent[2]!, text: '', metadata: null, deletedAt: isoAt(11) }
    expect(await messages.find(places.a, c.id, edited.id)).toEqual(edited)
    expect(await messages.changedSince(places.a, c.id, 5)).toEqual([edited, deleted])
    expect(await messages.changedSince(places.a, c.id, 99)).toEqual([])
    expect(await messages.changedSince(places.b, c.id, 5)).toEqual([])
    expect((await conversations.find(places.a, c.id))!.historyRevision).toBe(revision + 4)
  })

  it('reads the last message of each conversation', async () => {
    const [c1, c2, empty] = [await conversationIn(places.a), await conversationIn(places.a), await conversationIn(places.a)]
    const first = [messageRecord(c1.id, 1), messageRecord(c1.id, 2)]
    const second = [messageRecord(c2.id, 1)]
    await messages.insertMany(places.a, first, store.db)
    await messages.insertMany(places.a, second, store.db)
    const last = await messages.lastMessages(places.a, [
      { id: c1.id, lastSeq: 2 },
      { id: c2.id, lastSeq: 1 },
      { id: empty.id, lastSeq: 0 },
    ])
    expect(last).toEqual(
      new Map([
        [c1.id, first[1]],
        [c2.id, second[0]],
      ]),
    )
    expect(await messages.lastMessages(places.b, [{ id: c1.id, lastSeq: 2 }])).toEqual(new Map())
  })

  it('refuses a second message with the same seq, id or client message id as a unique violation', async () => {
    const c = await conversationIn(places.a)
    const other = await conversationIn(places.a)
    const message = messageRecord(c.id, 1, { clientMessageId: 'once' })
    await messages.insertMany(places.a, [message], store.db)
    await expectUniqueViolation(messages.insertMany(places.a, [messageRecord(c.id, 1)], store.db))
    // Ids are unique in a tenant environment, whatever the conversation.
    await expectUniqueViolation(messages.insertMany(places.a, [messageRecord(other.id, 1, { id: message.id })], store.db))
    await expectUniqueViolation(messages.insertMany(places.a, [messageRecord(c.id, 2, { clientMessageId: 'once' })], store.db))
    expect(await messages.after(places.a, c.id, 0, 10)).toEqual([message])

    // Another sender may use the same client message id; sends without one never collide.
    await messages.insertMany(
      places.a,
      [messageRecord(c.id, 2, { clientMessageId: 'once', senderId: 'u_other' }), messageRecord(c.id, 3), messageRecord(c.id, 4)],
      store.db,
    )
    // The same id in another tenant environment is another message.
    await messages.insertMany(places.aTest, [messageRecord(c.id, 1, { id: message.id })], store.db)
  })
}
