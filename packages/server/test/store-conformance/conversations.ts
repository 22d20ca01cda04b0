/**
 * ConversationStore: conversations and their members within one tenant environment, the direct
 * pair key, activity paging, read positions and unread counts (over messages written by MessageStore).
 */
import { beforeAll, expect, it } from 'vitest'
import { ConversationStore } from '../../src/conversations/store.js'
import { MessageStore } from '../../src/messages/store.js'
import type { Store } from '../../src/storage/database.js'
import type { OpenStore } from '../helpers/engines.js'
import {
  type Places,
  conversationRecord,
  expectUniqueViolation,
  isoAt,
  memberRecord,
  messageRecord,
  newestFirst,
  nextId,
  twoTenants,
  walkPages,
} from './fixtures.js'

export function conversationStoreConformance(openStore: OpenStore): void {
  let store: Store
  let conversations: ConversationStore
  let messages: MessageStore
  let places: Places
  beforeAll(async () => {
    store = await openStore()
    conversations = new ConversationStore(store.db)
    messages = new MessageStore(store.db)
    places = await twoTenants(store)
  })

  it('round-trips a conversation and its members, and finds nothing for an unknown id', async () => {
    const conversation = conversationRecord(places.a)
    const members = [memberRecord('u_zed', { role: 'owner' }), memberRecord('u_amy'), memberRecord('u_bob', { joinedAt: isoAt(-1) })]
    await conversations.insert(conversation, members, store.db)
    expect(await conversations.find(places.a, conversation.id)).toEqual(conversation)
    // Oldest member first, ties by user id.
    expect(await conversations.members(places.a, conversation.id)).toEqual([members[2], members[1], members[0]])
    expect(await conversations.member(places.a, conversation.id, 'u_zed')).toEqual(members[0])
    expect(await conversations.member(places.a, conversation.id, 'u_nobody')).toBeNull()
    expect(await conversations.findWithMember(places.a, conversation.id, 'u_amy')).toEqual({ conversation, member: members[1] })
    expect(await conversations.findWithMember(places.a, conversation.id, 'u_nobody')).toEqual({ conversation, member: null })
    expect(await conversations.find(places.a, 'conv_missing')).toBeNull()
    expect(await conversations.findWithMember(places.a, 'conv_missing', 'u_amy')).toBeNull()
  })

  it('keeps the same id in another tenant or environment a different conversation, with its own members', async () => {
    const id = nextId('conv_')
    const inA = conversationRecord(places.a, { id, name: 'in A' })
    const inTest = conversationRecord(places.aTest, { id, name: 'in A test' })
    const inB = conversationRecord(places.b, { id, name: 'in B' })
    await conversations.insert(inA, [memberRecord('u_a')], store.db)
    await conversations.insert(inTest, [memberRecord('u_test')], store.db)
    await conversations.insert(inB, [memberRecord('u_b')], store.db)
    for (const c of [inA, inTest, inB]) expect(await conversations.find(c, id)).toEqual(c)
    expect((await conversations.members(places.b, id)).map((m) => m.userId)).toEqual(['u_b'])
    expect(await conversations.findWithMember(places.b, id, 'u_a')).toEqual({ conversation: inB, member: null })
    expect(await conversations.member(places.aTest, id, 'u_a')).toBeNull()
    expect(await conversations.conversationIdsOf(places.a, 'u_a')).toEqual([id])
    expect(await conversations.conversationIdsOf(places.b, 'u_a')).toEqual([])

    const only = conversationRecord(places.a)
    await conversations.insert(only, [], store.db)
    expect(await conversations.find(places.b, only.id)).toBeNull()
    expect(await conversations.find(places.aTest, only.id)).toBeNull()
  })

  it('finds a direct conversation by its pair only in its own tenant environment', async () => {
    const direct = conversationRecord(places.a, { type: 'direct', name: null, directKey: 'u_ann u_ben' })
    await conversations.insert(direct, [memberRecord('u_ann'), memberRecord('u_ben')], store.db)
    expect(await conversations.findDirect(places.a, 'u_ann u_ben')).toEqual(direct)
    expect(await conversations.findDirect(places.aTest, 'u_ann u_ben')).toBeNull()
    expect(await conversations.findDirect(places.b, 'u_ann u_ben')).toBeNull()
  })

  it('adds members once: adding an existing member changes nothing', async () => {
    const conversation = conversationRecord(places.a)
    const owner = memberRecord('u_own', { role: 'owner', lastReadSeq: 0 })
    await conversations.insert(conversation, [owner], store.db)
    await conversations.addMembers(conversation, [memberRecord('u_own', { joinedAt: isoAt(50) }), memberRecord('u_new', { joinedAt: isoAt(50) })], store.db)
    await conversations.addMembers(conversation, [], store.db)
    expect(await conversations.members(places.a, conversation.id)).toEqual([owner, memberRecord('u_new', { joinedAt: isoAt(50) })])
  })

  it("pages by last activity newest first without gaps or repeats when it ties, all or one user's", async () => {
    const { a, b } = await twoTenants(store)
    const made = [4, 4, 4, 4, 1, 9].map((minute) => conversationRecord(a, { lastActivityAt: isoAt(minute) }))
    for (const [i, c] of made.entries()) await conversations.insert(c, i % 2 === 0 ? [memberRecord('u_even')] : [], store.db)
    await conversations.insert(conversationRecord(b), [memberRecord('u_even')], store.db)

    const byActivity = (rows: typeof made) => newestFirst(rows, (c) => c.lastActivityAt).map((c) => c.id)
    const walk = (userId: string | null) =>
      walkPages((limit, after) => conversations.list(a, userId, limit, after), (c) => c.lastActivityAt).then((rows) => rows.map((c) => c.id))
    expect(await walk(null)).toEqual(byActivity(made))
    expect(await walk('u_even')).toEqual(byActivity(made.filter((_, i) => i % 2 === 0)))
    expect(await walk('u_nobody')).toEqual([])
  })

  it('updates name and metadata only in its own tenant environment', async () => {
    const id = nextId('conv_')
    const [mine, theirs] = [conversationRecord(places.a, { id }), conversationRecord(places.b, { id })]
    await conversations.insert(mine, [], store.db)
    await conversations.insert(theirs, [], store.db)
    await conversations.update(places.a, id, { name: 'Renamed' }, isoAt(7), store.db)
    expect(await conversations.find(places.a, id)).toEqual({ ...mine, name: 'Renamed', updatedAt: isoAt(7) })
    await conversations.update(places.a, id, { name: null, metadata: null }, isoAt(8), store.db)
    expect(await conversations.find(places.a, id)).toEqual({ ...mine, name: null, metadata: null, updatedAt: isoAt(8) })
    expect(await conversations.find(places.b, id)).toEqual(theirs)
  })

  it('deletes a conversation with its members and messages, only in its own tenant environment', async () => {
    const id = nextId('conv_')
    const [mine, theirs] = [conversationRecord(places.a, { id }), conversationRecord(places.aTest, { id })]
    for (const [scope, c] of [[places.a, mine], [places.aTest, theirs]] as const) {
      await conversations.insert(c, [memberRecord('u_x')], store.db)
      await messages.insertMany(scope, [messageRecord(id, 1, { senderId: 'u_x' })], store.db)
    }
    await conversations.delete(places.a, id, store.db)
    expect(await conversations.find(places.a, id)).toBeNull()
    expect(await conversations.members(places.a, id)).toEqual([])
    expect(await messages.after(places.a, id, 0, 10)).toEqual([])
    expect(await conversations.find(places.aTest, id)).toEqual(theirs)
    expect(await conversations.members(places.aTest, id)).toHaveLength(1)
    expect(await messages.after(places.aTest, id, 0, 10)).toHaveLength(1)
  })

  it('removes a member, saying whether there was one', async () => {
    const conversation = conversationRecord(places.a)
    await conversations.insert(conversation, [memberRecord('u_a'), memberRecord('u_b')], store.db)
    expect(await conversations.removeMember(places.b, conversation.id, 'u_a', store.db)).toBe(false)
    expect(await conversations.removeMember(places.a, conversation.id, 'u_a', store.db)).toBe(true)
    expect(await conversations.removeMember(places.a, conversation.id, 'u_a', store.db)).toBe(false)
    expect((await conversations.members(places.a, conversation.id)).map((m) => m.userId)).toEqual(['u_b'])
  })

  it('moves a read position forward only, and counts unread messages: not own, not deleted, above it', async () => {
    const c1 = conversationRecord(places.a)
    const c2 = conversationRecord(places.a)
    for (const c of [c1, c2]) await conversations.insert(c, [memberRecord('u_me'), memberRecord('u_you')], store.db)
    const sent = [
      messageRecord(c1.id, 1, { senderId: 'u_you' }),
      messageRecord(c1.id, 2, { senderId: 'u_me' }),
      messageRecord(c1.id, 3, { senderId: 'u_you' }),
      messageRecord(c1.id, 4, { senderId: 'u_you' }),
      messageRecord(c1.id, 5, { senderId: 'u_you' }),
    ]
    await messages.insertMany(places.a, sent, store.db)
    await messages.update(places.a, sent[3]!, { text: '', deletedAt: isoAt(6) }, store.db)
    await messages.insertMany(places.a, [messageRecord(c2.id, 1, { senderId: 'u_you' })], store.db)

    expect(await conversations.unreadCounts(places.a, 'u_me', null)).toEqual(
      new Map([
        [c1.id, 3],
        [c2.id, 1],
      ]),
    )
    expect(await conversations.advanceRead(places.a, c1.id, 'u_me', 3, store.db)).toBe(true)
    expect(await conversations.advanceRead(places.a, c1.id, 'u_me', 2, store.db)).toBe(false)
    expect(await conversations.advanceRead(places.b, c1.id, 'u_me', 5, store.db)).toBe(false)
    expect((await conversations.member(places.a, c1.id, 'u_me'))?.lastReadSeq).toBe(3)
    expect(await conversations.unreadCounts(places.a, 'u_me', [c1.id])).toEqual(new Map([[c1.id, 1]]))
    expect(await conversations.unreadCounts(places.a, 'u_me', [])).toEqual(new Map())
    expect(await conversations.unreadCounts(places.b, 'u_me', null)).toEqual(new Map())
  })

  it('refuses a second conversation with the same id, or a second direct one for the same pair, as a unique violation', async () => {
    const conversation = conversationRecord(places.a)
    await conversations.insert(conversation, [], store.db)
    await expectUniqueViolation(conversations.insert({ ...conversation, name: 'Impostor' }, [], store.db))
    expect(await conversations.find(places.a, conversation.id)).toEqual(conversation)

    const pair = { type: 'direct' as const, name: null, directKey: 'u_one u_two' }
    await conversations.insert(conversationRecord(places.a, pair), [], store.db)
    await expectUniqueViolation(conversations.insert(conversationRecord(places.a, pair), [], store.db))
    // The same pair in the other environment is another conversation; groups have no pair key.
    await conversations.insert(conversationRecord(places.aTest, pair), [], store.db)
    await conversations.insert(conversationRecord(places.a), [], store.db)
  })
}
