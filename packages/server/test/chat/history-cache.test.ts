/**
 * The history cache (messages/history-cache.ts): repeated reads of an unchanged conversation are
 * served from memory, and every send, edit and delete — on this node or another — is visible to
 * the next read at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HistoryCache } from '../../src/messages/history-cache.js'
import { type ChatWorld, chatWorld } from '../helpers/chat-world.js'
import { ENGINES, postgresUrl } from '../helpers/databases.js'
import { type TestParley, startParley, withTwoNodes } from '../helpers/parley.js'

describe('HistoryCache', () => {
  it('serves a page only for the version it was stored under', () => {
    const cache = new HistoryCache(1000)
    cache.set('k', 'v1', 'page at v1')
    expect(cache.get('k', 'v1')).toBe('page at v1')
    expect(cache.get('k', 'v2')).toBeUndefined()
    // A stale entry is dropped, not kept beside the new one.
    expect(cache.get('k', 'v1')).toBeUndefined()
    expect(cache.chars).toBe(0)
  })

  it('evicts the least recently used pages beyond its size', () => {
    const cache = new HistoryCache(800) // pages of 100 characters: 8 fit
    const page = (n: number) => String(n).padEnd(100, '.')
    for (let n = 0; n < 8; n++) cache.set(`k${n}`, 'v', page(n))
    expect(cache.get('k0', 'v')).toBe(page(0)) // k0 becomes the most recently used
    cache.set('k8', 'v', page(8))
    expect(cache.get('k1', 'v')).toBeUndefined() // the least recently used went
    expect(cache.get('k0', 'v')).toBe(page(0))
    expect(cache.get('k8', 'v')).toBe(page(8))
    expect(cache.chars).toBe(800)
  })

  it('replaces a page stored again under the same key, counting its size once', () => {
    const cache = new HistoryCache(1000)
    cache.set('k', 'v1', 'a'.repeat(100))
    cache.set('k', 'v2', 'b'.repeat(50))
    expect(cache.chars).toBe(50)
    expect(cache.get('k', 'v2')).toBe('b'.repeat(50))
  })

  it('does not keep pages larger than an eighth of it, and keeps nothing when its size is 0', () => {
    const cache = new HistoryCache(800)
    cache.set('big', 'v', 'x'.repeat(101))
    expect(cache.get('big', 'v')).toBeUndefined()
    const off = new HistoryCache(0)
    off.set('k', 'v', 'x')
    expect(off.get('k', 'v')).toBeUndefined()
  })
})

describe.each(ENGINES)('history cache on %s', (engine) => {
  let t: TestParley
  let w: ChatWorld

  beforeAll(async () => {
    t = await startParley({ engine })
    w = await chatWorld(t)
    await w.users('ann', 'bob')
  })
  afterAll(() => t?.close())

  /** Changes a message behind Parley's back: only a cached page can still show the old text. */
  const rewriteInStorage = (id: string, text: string) => t.parley.store.db.updateTable('messages').set({ text }).where('id', '=', id).execute()
  const texts = async (conv: string, query = '') => {
    const res = await w.secret('GET', `/v1/conversations/${conv}/messages${query}`)
    expect(res.status, res.text).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    return res.body.data.map((m: any) => m.text) as string[]
  }

  it('serves a repeated read from memory, byte for byte', async () => {
    const conv = await w.group(['ann', 'bob'])
    const sent = await w.send(conv, 'ann', 'original')
    const first = await w.secret('GET', `/v1/conversations/${conv}/messages`)
    await rewriteInStorage(sent.id, 'changed behind the API')
    const second = await w.secret('GET', `/v1/conversations/${conv}/messages`)
    expect(second.text).toBe(first.text)
    expect(second.body.data[0]).toEqual(sent)
    // Another page shape of the same conversation is read from storage.
    expect(await texts(conv, '?limit=10')).toEqual(['changed behind the API'])
  })

  it('shows a new message, an edit and a deletion on the next read', async () => {
    const conv = await w.group(['ann', 'bob'])
    const first = await w.send(conv, 'ann', 'one')
    expect(await texts(conv)).toEqual(['one'])
    await w.send(conv, 'bob', 'two')
    expect(await texts(conv)).toEqual(['one', 'two'])
    const url = `/v1/conversations/${conv}/messages/${first.id}`
    expect((await w.secret('PATCH', url, { text: 'one, edited' })).status).toBe(200)
    expect(await texts(conv)).toEqual(['one, edited', 'two'])
    expect((await w.secret('DELETE', url)).status).toBe(204)
    expect(await texts(conv)).toEqual(['', 'two'])
  })

  it('does not serve a deleted conversation’s pages to a new one with the same id', async () => {
    const id = `reused-${engine}`
    await w.group(['ann', 'bob'], { id })
    await w.send(id, 'ann', 'from the first life')
    expect(await texts(id)).toEqual(['from the first life'])
    expect((await w.secret('DELETE', `/v1/conversations/${id}`)).status).toBe(204)
    await w.group(['ann', 'bob'], { id })
    await w.send(id, 'bob', 'from the second life')
    expect(await texts(id)).toEqual(['from the second life'])
  })

  it('keeps nothing with PARLEY_HISTORY_CACHE_MB=0', async () => {
    const off = await startParley({ engine, env: { PARLEY_HISTORY_CACHE_MB: '0' } })
    try {
      const o = await chatWorld(off)
      await o.users('ann')
      const conv = await o.group(['ann'])
      const sent = await o.send(conv, 'ann', 'original')
      expect((await o.secret('GET', `/v1/conversations/${conv}/messages`)).body.data[0].text).toBe('original')
      await off.parley.store.db.updateTable('messages').set({ text: 'rewritten' }).where('id', '=', sent.id).execute()
      expect((await o.secret('GET', `/v1/conversations/${conv}/messages`)).body.data[0].text).toBe('rewritten')
    } finally {
      await off.close()
    }
  })
})

describe.runIf(postgresUrl)('history cache across two nodes on one PostgreSQL', () => {
  it('a change made on one node is visible in the next read on the other', async () => {
    await withTwoNodes(async (a, b) => {
      const wa = await chatWorld(a)
      await wa.users('ann', 'bob')
      const conv = await wa.group(['ann', 'bob'])
      const first = await wa.send(conv, 'ann', 'one')
      const onA = async () => (await wa.secret('GET', `/v1/conversations/${conv}/messages`)).body.data.map((m: any) => m.text)
      const onB = (method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) => b.call(method, url, { auth: wa.key, body })
      expect(await onA()).toEqual(['one'])
      expect((await onB('POST', `/v1/conversations/${conv}/messages`, { text: 'two', senderId: 'bob' })).status).toBe(201)
      expect(await onA()).toEqual(['one', 'two'])
      expect((await onB('PATCH', `/v1/conversations/${conv}/messages/${first.id}`, { text: 'one, edited' })).status).toBe(200)
      expect(await onA()).toEqual(['one, edited', 'two'])
      expect((await onB('DELETE', `/v1/conversations/${conv}/messages/${first.id}`)).status).toBe(204)
      expect(await onA()).toEqual(['', 'two'])
    })
  })
})
