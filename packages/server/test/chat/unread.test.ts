/**
 * Unread counts (API.md §5.1, §9 Unread): messages above the member's lastReadSeq that are
 * neither its own nor deleted; the read position only moves forward and is capped at lastSeq;
 * the list, the detail and GET /v1/me/unread always agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld } from '../helpers/chat-world.js'
import { ENGINES } from '../helpers/databases.js'
import { type TestParley, startParley } from '../helpers/parley.js'

describe.each(ENGINES)('unread on %s', (engine) => {
  let t: TestParley
  let w: ChatWorld
  const tok: Record<string, string> = {}

  beforeAll(async () => {
    t = await startParley({ engine })
    w = await chatWorld(t)
    for (const id of ['ann', 'bob', 'cat', 'dan']) tok[id] = await w.token(id)
  })
  afterAll(() => t?.close())

  /** The unread count of one conversation as the three session views report it. */
  async function unreadViews(user: string, conversationId: string) {
    const list = await w.as(tok[user]!, 'GET', '/v1/conversations?limit=200')
    const detail = await w.as(tok[user]!, 'GET', `/v1/conversations/${conversationId}`)
    const summary = await w.as(tok[user]!, 'GET', '/v1/me/unread')
    expect([list.status, detail.status, summary.status]).toEqual([200, 200, 200])
    const item = list.body.data.find((c: any) => c.id === conversationId)
    const entry = summary.body.conversations.find((c: any) => c.id === conversationId)
    return { list: item?.unreadCount, detail: detail.body.unreadCount, summary: entry?.unreadCount ?? 0 }
  }

  const read = (user: string, conversationId: string, seq: number) =>
    w.as(tok[user]!, 'POST', `/v1/conversations/${conversationId}/read`, { seq })

  const lastReadOf = async (conversationId: string, user: string) => {
    const detail = await w.secret('GET', `/v1/conversations/${conversationId}`)
    return detail.body.members.find((m: any) => m.userId === user)?.lastReadSeq
  }

  describe('counting', () => {
    let conv: string
    beforeAll(async () => {
      conv = await w.group(['ann', 'bob', 'cat'])
    })

    it('counts others’ messages, not own ones, not deleted ones', async () => {
      const b1 = await w.send(conv, 'bob') // 1
      await w.send(conv, 'ann') // 2 own
      await w.send(conv, 'bob') // 3
      await w.send(conv, 'cat') // 4
      await w.as(tok.ann!, 'POST', `/v1/conversations/${conv}/messages`, { text: 'own via session' }) // 5 own
      await w.send(conv, 'cat') // 6
      expect(await unreadViews('ann', conv)).toEqual({ list: 4, detail: 4, summary: 4 })
      expect(await unreadViews('bob', conv)).toEqual({ list: 4, detail: 4, summary: 4 })

      expect((await w.secret('DELETE', `/v1/conversations/${conv}/messages/${b1.id}`)).status).toBe(204)
      expect(await unreadViews('ann', conv)).toEqual({ list: 3, detail: 3, summary: 3 })
      expect(await unreadViews('cat', conv)).toEqual({ list: 3, detail: 3, summary: 3 }) // seqs 2, 3, 5
    })

    it('sending does not move the sender’s read position', async () => {
      expect(await lastReadOf(conv, 'ann')).toBe(0)
    })

    it('moves the read position forward only, and the counts follow', async () => {
      const first = await read('ann', conv, 4)
      expect(first.status).toBe(200)
      expect(first.body).toEqual({ conversationId: conv, userId: 'ann', lastReadSeq: 4, unreadCount: 1 })
      expect(await unreadViews('ann', conv)).toEqual({ list: 1, detail: 1, summary: 1 })

      const back = await read('ann', conv, 2)
      expect(back.status).toBe(200)
      expect(back.body).toMatchObject({ lastReadSeq: 4, unreadCount: 1 })
      expect(await lastReadOf(conv, 'ann')).toBe(4)
      expect(await unreadViews('ann', conv)).toEqual({ list: 1, detail: 1, summary: 1 })
    })

    it('caps a read position above lastSeq, so later messages still count', async () => {
      const far = await read('ann', conv, 1_000)
      expect(far.body).toMatchObject({ lastReadSeq: 6, unreadCount: 0 })
      expect(await lastReadOf(conv, 'ann')).toBe(6)
      expect(await unreadViews('ann', conv)).toEqual({ list: 0, detail: 0, summary: 0 })

      await w.send(conv, 'bob') // 7
      await w.send(conv, 'bob') // 8
      expect(await unreadViews('ann', conv)).toEqual({ list: 2, detail: 2, summary: 2 })
    })

    it('a member added later starts at read position 0 and counts the history before it joined', async () => {
      const added = await w.secret('POST', `/v1/conversations/${conv}/members`, { userIds: ['dan'] })
      expect(added.status).toBe(200)
      expect(added.body.members.find((m: any) => m.userId === 'dan')).toMatchObject({ lastReadSeq: 0, role: 'member' })
      // 8 messages, one deleted, none by dan.
      expect(await unreadViews('dan', conv)).toEqual({ list: 7, detail: 7, summary: 7 })
    })

    it('a removed member no longer sees the conversation in its unread summary', async () => {
      expect((await w.secret('DELETE', `/v1/conversations/${conv}/members/dan`)).status).toBe(204)
      const summary = await w.as(tok.dan!, 'GET', '/v1/me/unread')
      expect(summary.body.conversations.map((c: any) => c.id)).not.toContain(conv)
      const list = await w.as(tok.dan!, 'GET', '/v1/conversations')
      expect(list.body.data.map((c: any) => c.id)).not.toContain(conv)
    })
  })

  describe('GET /v1/me/unread', () => {
    it('totals the counts of every conversation with unread messages', async () => {
      const world = await chatWorld(t)
      const eve = await world.token('eve')
      await world.users('fay', 'gus')
      const one = await world.group(['eve', 'fay'])
      const two = await world.group(['eve', 'gus'])
      const quiet = await world.group(['eve', 'fay', 'gus'])
      for (let i = 0; i < 3; i++) await world.send(one, 'fay')
      for (let i = 0; i < 5; i++) await world.send(two, 'gus')
      await world.send(quiet, 'eve')

      const summary = await world.as(eve, 'GET', '/v1/me/unread')
      expect(summary.status).toBe(200)
      const byId = Object.fromEntries(summary.body.conversations.map((c: any) => [c.id, c.unreadCount]))
      expect(byId).toEqual({ [one]: 3, [two]: 5 })
      expect(summary.body.total).toBe(8)

      await world.as(eve, 'POST', `/v1/conversations/${two}/read`, { seq: 2 })
      const after = await world.as(eve, 'GET', '/v1/me/unread')
      expect(after.body.total).toBe(6)
      const list = await world.as(eve, 'GET', '/v1/conversations')
      const listed = list.body.data.reduce((sum: number, c: any) => sum + c.unreadCount, 0)
      expect(listed).toBe(after.body.total)
    })

    it('is for session tokens only', async () => {
      const res = await w.secret('GET', '/v1/me/unread')
      expect(res.status).toBe(403)
    })
  })

  describe('secret keys', () => {
    let conv: string
    beforeAll(async () => {
      conv = await w.group(['ann', 'bob'])
      await w.send(conv, 'bob')
      await w.send(conv, 'bob')
      await w.send(conv, 'ann')
    })

    it('get unreadCount for the user named with ?userId=, and none without it', async () => {
      const forAnn = await w.secret('GET', '/v1/conversations?userId=ann&limit=200')
      expect(forAnn.body.data.find((c: any) => c.id === conv).unreadCount).toBe(2)
      const forBob = await w.secret('GET', '/v1/conversations?userId=bob&limit=200')
      expect(forBob.body.data.find((c: any) => c.id === conv).unreadCount).toBe(1)
      expect(forBob.body.data.every((c: any) => typeof c.unreadCount === 'number')).toBe(true)
      const all = await w.secret('GET', '/v1/conversations?limit=200')
      expect(all.body.data.find((c: any) => c.id === conv)).not.toHaveProperty('unreadCount')
    })

    it('must name the member whose read position moves', async () => {
      const missing = await w.secret('POST', `/v1/conversations/${conv}/read`, { seq: 2 })
      expect(missing.status).toBe(400)
      expect(missing.body.code).toBe('validation_failed')
      expect(missing.body.errors.map((e: any) => e.param)).toEqual(['userId'])
      const outsider = await w.secret('POST', `/v1/conversations/${conv}/read`, { seq: 2, userId: 'cat' })
      expect(outsider.status).toBe(400)
      expect(await lastReadOf(conv, 'ann')).toBe(0)

      const ok = await w.secret('POST', `/v1/conversations/${conv}/read`, { seq: 2, userId: 'ann' })
      expect(ok.body).toEqual({ conversationId: conv, userId: 'ann', lastReadSeq: 2, unreadCount: 0 })
      expect(await unreadViews('ann', conv)).toEqual({ list: 0, detail: 0, summary: 0 })
    })

    it('a session caller cannot move someone else’s read position', async () => {
      const res = await w.as(tok.ann!, 'POST', `/v1/conversations/${conv}/read`, { seq: 3, userId: 'bob' })
      expect(res.status).toBe(403)
      expect(await lastReadOf(conv, 'bob')).toBe(0)
    })
  })
})
