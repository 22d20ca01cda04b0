/**
 * History by seq (API.md §5.3, §9 hasMore): paging both ways covers every message exactly once,
 * limits are enforced, soft-deleted and edited messages keep their place, and the query is
 * served by an index.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DomainEvent } from '../../src/events/envelope.js'
import { type ChatWorld, chatWorld } from '../helpers/chat-world.js'
import { ENGINES } from '../helpers/databases.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { range } from '../helpers/values.js'

const TOTAL = 237

describe.each(ENGINES)('history on %s', (engine) => {
  let t: TestParley
  let w: ChatWorld
  let conv: string
  let url: string

  beforeAll(async () => {
    t = await startParley({ engine })
    w = await chatWorld(t)
    await w.users('ann', 'bob')
    conv = await w.group(['ann', 'bob'])
    url = `/v1/conversations/${conv}/messages`
    for (let i = 1; i <= TOTAL; i++) await w.send(conv, i % 2 ? 'ann' : 'bob', `m${i}`)
  })
  afterAll(() => t?.close())

  const page = async (query: string) => {
    const res = await w.secret('GET', `${url}?${query}`)
    expect(res.status, res.text).toBe(200)
    return { seqs: res.body.data.map((m: any) => m.seq) as number[], hasMore: res.body.hasMore as boolean, data: res.body.data }
  }

  it('walks backwards from the end with before=<first seq of the page>', async () => {
    const seen: number[] = []
    const more: boolean[] = []
    let query = 'limit=50'
    for (;;) {
      const p = await page(query)
      expect(p.seqs).toEqual([...p.seqs].sort((a, b) => a - b))
      seen.unshift(...p.seqs)
      more.push(p.hasMore)
      if (!p.hasMore) break
      query = `limit=50&before=${p.seqs[0]}`
    }
    expect(seen).toEqual(range(1, TOTAL))
    expect(more).toEqual([true, true, true, true, false])
  })

  it('walks forwards from after=0', async () => {
    const seen: number[] = []
    const more: boolean[] = []
    let after = 0
    for (;;) {
      const p = await page(`limit=50&after=${after}`)
      expect(p.seqs).toEqual(range(after + 1, Math.min(after + 50, TOTAL)))
      seen.push(...p.seqs)
      more.push(p.hasMore)
      if (!p.hasMore) break
      after = p.seqs.at(-1)!
    }
    expect(seen).toEqual(range(1, TOTAL))
    expect(more).toEqual([true, true, true, true, false])
  })

  it('returns the latest messages without a cursor, and data is ascending', async () => {
    const p = await page('limit=5')
    expect(p.seqs).toEqual(range(TOTAL - 4, TOTAL))
    expect(p.data.map((m: any) => m.text)).toEqual(range(TOTAL - 4, TOTAL).map((i) => `m${i}`))
    expect(p.hasMore).toBe(true)
    expect((await page('')).seqs).toEqual(range(TOTAL - 49, TOTAL)) // default limit 50
  })

  it('sets hasMore false when a page ends exactly at the edge, and true when one more exists', async () => {
    expect(await page('limit=37&before=38')).toMatchObject({ seqs: range(1, 37), hasMore: false })
    expect(await page('limit=36&before=38')).toMatchObject({ seqs: range(2, 37), hasMore: true })
    expect(await page(`limit=37&after=${TOTAL - 37}`)).toMatchObject({ seqs: range(TOTAL - 36, TOTAL), hasMore: false })
    expect(await page(`limit=36&after=${TOTAL - 37}`)).toMatchObject({ seqs: range(TOTAL - 36, TOTAL - 1), hasMore: true })
    expect(await page('before=1')).toMatchObject({ seqs: [], hasMore: false })
    expect(await page(`after=${TOTAL}`)).toMatchObject({ seqs: [], hasMore: false })
    expect(await page(`limit=200&after=0`)).toMatchObject({ seqs: range(1, 200), hasMore: true })
  })

  it.each(['limit=0', 'limit=201', 'limit=-1', 'before=-1', 'after=x', `before=10&after=5`])('rejects %s with 400', async (query) => {
    const res = await w.secret('GET', `${url}?${query}`)
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('validation_failed')
  })

  it('keeps soft-deleted messages in place with empty text, null metadata and deletedAt', async () => {
    const c = await w.group(['ann', 'bob'])
    const mUrl = `/v1/conversations/${c}/messages`
    const sent = await w.secret('POST', mUrl, { text: 'to be deleted', senderId: 'ann', metadata: { tag: 'x' } })
    await w.send(c, 'bob', 'stays')
    const del = await w.secret('DELETE', `${mUrl}/${sent.body.id}`)
    expect(del.status).toBe(204)
    const res = await w.secret('GET', mUrl)
    expect(res.body.data).toHaveLength(2)
    const [gone, kept] = res.body.data
    expect(gone).toMatchObject({ id: sent.body.id, seq: 1, senderId: 'ann', text: '', metadata: null })
    expect(Date.parse(gone.deletedAt)).not.toBeNaN()
    expect(kept).toMatchObject({ seq: 2, text: 'stays', deletedAt: null })
    const row = await t.parley.store.db.selectFrom('messages').selectAll().where('id', '=', sent.body.id).executeTakeFirstOrThrow()
    expect([row.text, row.metadata]).toEqual(['', null])
  })

  it('sets editedAt on edit, shows the new text, and emits message.updated', async () => {
    const c = await w.group(['ann', 'bob'])
    const annToken = await w.token('ann')
    const mUrl = `/v1/conversations/${c}/messages`
    const sent = await w.as(annToken, 'POST', mUrl, { text: 'typo', metadata: { keep: true } })
    expect(sent.body.editedAt).toBeNull()
    const events: DomainEvent[] = []
    const unsubscribe = t.parley.services.events.subscribe((e) => events.push(e))
    try {
      const edited = await w.as(annToken, 'PATCH', `${mUrl}/${sent.body.id}`, { text: 'fixed' })
      expect(edited.status).toBe(200)
      expect(edited.body).toMatchObject({ id: sent.body.id, seq: 1, text: 'fixed', metadata: { keep: true }, deletedAt: null })
      expect(Date.parse(edited.body.editedAt)).toBeGreaterThanOrEqual(Date.parse(sent.body.createdAt))
      const history = await w.secret('GET', mUrl)
      expect(history.body.data[0]).toMatchObject({ text: 'fixed', editedAt: edited.body.editedAt })
      expect(events.map((e) => [e.type, e.conversationId, (e.data as any).id, (e.data as any).text])).toEqual([
        ['message.updated', c, sent.body.id, 'fixed'],
      ])
    } finally {
      unsubscribe()
    }
  })

  it('returns each message exactly as it was returned when sent, edited or deleted', async () => {
    // History pages are JSON written by the database (messages/model.ts messageJson): every field,
    // type and escape must match what the API returns elsewhere.
    const c = await w.group(['ann', 'bob'])
    const mUrl = `/v1/conversations/${c}/messages`
    const tricky = [
      { text: 'plain', senderId: 'ann' },
      { text: 'quotes " and \\ backslashes, tab\t, newline\n, nul-ish \u0001 \u001f, slash /', senderId: 'bob', clientMessageId: 'c-1' },
      { text: 'unicode: é ß 中文 🙂 \u2028 \u2029', senderId: 'ann', metadata: { nested: { list: [1, 2.5, -3e-7, true, null, 'x"y'] }, emoji: '🙂', empty: {} } },
      { text: '1e3', senderId: 'bob', metadata: null, clientMessageId: '0' },
    ]
    const sent = []
    for (const body of tricky) {
      const res = await w.secret('POST', mUrl, body)
      expect(res.status, res.text).toBe(201)
      sent.push(res.body)
    }
    const edited = await w.secret('PATCH', `${mUrl}/${sent[0].id}`, { text: 'edited "text" 🙂' })
    expect((await w.secret('DELETE', `${mUrl}/${sent[2].id}`)).status).toBe(204)
    const deleted = { ...sent[2], text: '', metadata: null }
    const history = await w.secret('GET', mUrl)
    expect(history.body.hasMore).toBe(false)
    const [first, second, third, fourth] = history.body.data
    expect(first).toEqual(edited.body)
    expect(second).toEqual(sent[1])
    expect(third).toEqual({ ...deleted, deletedAt: third.deletedAt })
    expect(Date.parse(third.deletedAt)).not.toBeNaN()
    expect(fourth).toEqual(sent[3])
    // Same keys in the same order as a message returned by a send.
    expect(Object.keys(second)).toEqual(Object.keys(sent[1]))
  })

  it.runIf(engine === 'sqlite')('serves the history query shapes from an index, without sorting', async () => {
    const db = t.parley.store.db
    const scope = [w.tenant.id, 'live', conv] as const
    const shapes = [
      sql`explain query plan select * from messages where tenant_id = ${scope[0]} and environment = ${scope[1]}
          and conversation_id = ${scope[2]} and seq < ${100} order by seq desc limit 51`,
      sql`explain query plan select * from messages where tenant_id = ${scope[0]} and environment = ${scope[1]}
          and conversation_id = ${scope[2]} and seq > ${100} order by seq asc limit 51`,
      sql`explain query plan select * from messages where tenant_id = ${scope[0]} and environment = ${scope[1]}
          and conversation_id = ${scope[2]} order by seq desc limit 51`,
    ]
    for (const shape of shapes) {
      const { rows } = await shape.execute(db)
      const plan = (rows as { detail: string }[]).map((r) => r.detail).join('\n')
      expect(plan).toMatch(/SEARCH messages USING (COVERING )?(INDEX|PRIMARY KEY)/)
      expect(plan).not.toMatch(/TEMP B-TREE/)
      expect(plan).not.toMatch(/^SCAN messages\s*$/m)
    }
  })
})
