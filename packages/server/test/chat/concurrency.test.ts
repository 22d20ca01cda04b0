/**
 * Concurrency (API.md §5.2): seq is gap-free per conversation under parallel sends, a retried
 * clientMessageId stores one message whatever the interleaving, and a direct pair is unique.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld, rowsOf } from '../helpers/chat-world.js'
import { ENGINES, postgresUrl } from '../helpers/databases.js'
import { type TestParley, startParley, withTwoNodes } from '../helpers/parley.js'

describe.each(ENGINES)('concurrency on %s', (engine) => {
  let t: TestParley
  let w: ChatWorld
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    t = await startParley({ engine })
    w = await chatWorld(t)
    for (const id of ['ann', 'bob', 'cat']) tokens[id] = await w.token(id)
  })
  afterAll(() => t?.close())

  it('gives 200 concurrent sends the seqs 1…200 exactly once', async () => {
    const id = await w.group(['ann', 'bob', 'cat'])
    const senders = ['ann', 'bob', 'cat']
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const sender = senders[i % 3]!
        const url = `/v1/conversations/${id}/messages`
        // Mix session-token senders and secret-key sends on behalf of a member.
        return i % 2 === 0
          ? w.as(tokens[sender]!, 'POST', url, { text: `m${i}` })
          : w.secret('POST', url, { text: `m${i}`, senderId: sender })
      }),
    )
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(201))
    const seqs = responses.map((r) => r.body.seq as number).sort((a, b) => a - b)
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(200)
    // Each response's text is stored at the seq it was given.
    const rows = await rowsOf(t, 'messages', id)
    expect(rows).toHaveLength(200)
    const bySeq = new Map(rows.map((r) => [Number(r.seq), r.text]))
    for (const r of responses) expect(bySeq.get(r.body.seq)).toBe(r.body.text)

    const db = t.parley.store.db
    const { rows: stats } = await sql<{ n: number | string; top: number | string }>`
      select count(*) as n, max(seq) as top from messages where conversation_id = ${id}`.execute(db)
    expect(Number(stats[0]!.n)).toBe(200)
    expect(Number(stats[0]!.top)).toBe(200)
    const conversation = await db.selectFrom('conversations').select('last_seq').where('id', '=', id).executeTakeFirstOrThrow()
    expect(Number(conversation.last_seq)).toBe(200)

    const detail = await w.secret('GET', `/v1/conversations/${id}`)
    expect(detail.body.lastSeq).toBe(200)
    expect(detail.body.lastMessage.seq).toBe(200)
  })

  it('stores one message for 20 parallel sends with the same clientMessageId', async () => {
    const id = await w.group(['ann', 'bob'])
    await w.send(id, 'bob', 'before')
    const url = `/v1/conversations/${id}/messages`
    const body = { text: 'once', clientMessageId: 'retry-1' }
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? w.as(tokens.ann!, 'POST', url, body) : w.secret('POST', url, { ...body, senderId: 'ann' }),
      ),
    )
    const statuses = responses.map((r) => r.status).sort((a, b) => a - b)
    expect(statuses).toEqual([...Array(19).fill(200), 201])
    const ids = new Set(responses.map((r) => r.body.id))
    expect(ids.size).toBe(1)
    expect(responses.every((r) => r.body.seq === 2 && r.body.senderId === 'ann' && r.body.clientMessageId === 'retry-1')).toBe(true)

    const rows = await rowsOf(t, 'messages', id)
    expect(rows.filter((r) => r.client_message_id === 'retry-1')).toHaveLength(1)
    expect(rows).toHaveLength(2)

    // The duplicates gave their seqs back: the next send is 3, not 22.
    const next = await w.as(tokens.bob!, 'POST', url, { text: 'after' })
    expect(next.status).toBe(201)
    expect(next.body.seq).toBe(3)
    const history = await w.secret('GET', url)
    expect(history.body.data.map((m: any) => m.seq)).toEqual([1, 2, 3])
  })

  it('keeps clientMessageId per sender: the same id from another sender is a new message', async () => {
    const id = await w.group(['ann', 'bob'])
    const url = `/v1/conversations/${id}/messages`
    const [a, b] = await Promise.all([
      w.as(tokens.ann!, 'POST', url, { text: 'a', clientMessageId: 'same' }),
      w.as(tokens.bob!, 'POST', url, { text: 'b', clientMessageId: 'same' }),
    ])
    expect([a!.status, b!.status]).toEqual([201, 201])
    expect(a!.body.id).not.toBe(b!.body.id)
    expect([a!.body.seq, b!.body.seq].sort()).toEqual([1, 2])
  })

  it('creates one direct conversation for concurrent creations of the same pair', async () => {
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        if (i % 3 === 0) return w.as(tokens.ann!, 'POST', '/v1/conversations', { type: 'direct', members: ['cat'] })
        if (i % 3 === 1) return w.as(tokens.cat!, 'POST', '/v1/conversations', { type: 'direct', members: ['ann'] })
        return w.secret('POST', '/v1/conversations', { type: 'direct', members: ['cat', 'ann'] })
      }),
    )
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s === 200)).toHaveLength(11)
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1)

    const rows = await t.parley.store.db
      .selectFrom('conversations')
      .select('id')
      .where('tenant_id', '=', w.tenant.id)
      .where('type', '=', 'direct')
      .execute()
    expect(rows).toHaveLength(1)
    const members = await rowsOf(t, 'members', rows[0]!.id)
    expect(members.map((m) => m.user_id).sort()).toEqual(['ann', 'cat'])
  })

  it('leaves no message behind when a conversation is deleted while sends are under way', async () => {
    for (let round = 0; round < 5; round++) {
      const id = await w.group(['ann', 'bob'])
      const url = `/v1/conversations/${id}/messages`
      const sends = Array.from({ length: 30 }, (_, i) => w.as(tokens.ann!, 'POST', url, { text: `m${i}` }))
      const deletion = w.secret('DELETE', `/v1/conversations/${id}`)
      const answers = await Promise.all([...sends, deletion])
      expect(answers.at(-1)!.status).toBe(204)
      // A send either committed before the deletion (201) or found no conversation (404).
      for (const answer of answers.slice(0, -1)) expect([201, 404]).toContain(answer.status)
      expect(await rowsOf(t, 'messages', id), `round ${round}`).toEqual([])
    }
  })
})

describe.runIf(postgresUrl)('concurrency across two nodes on one PostgreSQL', () => {
  it('keeps seqs gap-free and each clientMessageId once when both nodes write to one conversation', async () => {
    await withTwoNodes(async (a, b) => {
      const w = await chatWorld(a)
      await w.users('ann', 'bob')
      const id = await w.group(['ann', 'bob'])
      const url = `/v1/conversations/${id}/messages`
      // 120 sends, half through each node; every clientMessageId is sent once to each node, so the
      // nodes race to store it and one of them must answer with the other's message.
      const responses = await Promise.all(
        Array.from({ length: 120 }, (_, i) => {
          const node = i % 2 === 0 ? a : b
          const body = { text: `m${i >> 1}`, senderId: i % 4 < 2 ? 'ann' : 'bob', clientMessageId: `c${i >> 1}` }
          return node.call('POST', url, { auth: w.key, body })
        }),
      )
      expect(responses.every((r) => r.status === 200 || r.status === 201)).toBe(true)
      expect(responses.filter((r) => r.status === 201)).toHaveLength(60)
      for (let n = 0; n < 60; n++) expect(responses[2 * n]!.body.id).toBe(responses[2 * n + 1]!.body.id)
      const rows = await a.parley.store.db.selectFrom('messages').select(['seq', 'client_message_id']).where('conversation_id', '=', id).orderBy('seq').execute()
      expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
      expect(new Set(rows.map((r) => r.client_message_id)).size).toBe(60)
    })
  })
})
