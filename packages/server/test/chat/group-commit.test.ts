/**
 * Sends that arrive together are written together (messages/writer.ts). Whatever the grouping,
 * each send gets its own answer: seqs stay gap-free per conversation, retries inside one group
 * collapse to one message, and a conversation deleted meanwhile fails only its own sends. The
 * writer also checks each sender's membership, inside the transaction that stores the message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChatWorld, chatWorld } from '../helpers/chat-world.js'
import { ENGINES } from '../helpers/databases.js'
import { type TestParley, startParley } from '../helpers/parley.js'

for (const engine of ENGINES) {
  describe(`grouped sends on ${engine}`, () => {
    let t: TestParley
    let world: ChatWorld
    beforeAll(async () => {
      t = await startParley({ engine })
      world = await chatWorld(t)
      await world.users('ann', 'bob', 'eve')
    })
    afterAll(() => t.close())

    it('keeps every conversation gap-free when concurrent sends span several conversations', async () => {
      const ids = [await world.group(['ann', 'bob']), await world.group(['ann', 'bob']), await world.group(['ann', 'bob'])]
      const sends = Array.from({ length: 90 }, (_, i) =>
        world.secret('POST', `/v1/conversations/${ids[i % 3]}/messages`, { text: `m${i}`, senderId: i % 2 ? 'ann' : 'bob' }),
      )
      const results = await Promise.all(sends)
      expect(results.every((r) => r.status === 201)).toBe(true)
      for (const id of ids) {
        const seqs = results.filter((r) => r.body.conversationId === id).map((r) => r.body.seq).sort((a, b) => a - b)
        expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
      }
    })

    it('answers each send of a group on its own: retries collapse, a deleted conversation fails alone', async () => {
      const kept = await world.group(['ann', 'bob'])
      const doomed = await world.group(['ann', 'bob'])
      await world.send(doomed, 'ann', 'first')
      const sends = [
        world.secret('POST', `/v1/conversations/${kept}/messages`, { text: 'once', senderId: 'ann', clientMessageId: 'same' }),
        world.secret('POST', `/v1/conversations/${kept}/messages`, { text: 'once again', senderId: 'ann', clientMessageId: 'same' }),
        world.secret('POST', `/v1/conversations/${kept}/messages`, { text: 'other', senderId: 'bob' }),
        world.secret('DELETE', `/v1/conversations/${doomed}`),
        world.secret('POST', `/v1/conversations/${doomed}/messages`, { text: 'too late', senderId: 'ann' }),
      ]
      const [first, retry, other, deleted, late] = await Promise.all(sends)
      expect([first!.status, retry!.status].sort()).toEqual([200, 201])
      expect(retry!.body.id).toBe(first!.body.id)
      expect(other!.status).toBe(201)
      expect(deleted!.status).toBe(204)
      expect([201, 404]).toContain(late!.status) // before or after the delete, never a 500
      const history = await world.secret('GET', `/v1/conversations/${kept}/messages`)
      expect(history.body.data.map((m: { seq: number }) => m.seq)).toEqual([1, 2])
    })

    it('refuses only the senders of a group who are not members, and a refused send changes nothing', async () => {
      const conv = await world.group(['ann', 'bob'])
      const [ann, eve] = [await world.token('ann'), await world.token('eve')]
      const url = `/v1/conversations/${conv}/messages`
      const sends = Array.from({ length: 30 }, (_, i) => {
        if (i % 3 === 0) return world.as(ann, 'POST', url, { text: `ann ${i}` })
        if (i % 3 === 1) return world.as(eve, 'POST', url, { text: `eve ${i}` }) // a session caller: 403
        return world.secret('POST', url, { text: `as eve ${i}`, senderId: 'eve' }) // a secret key naming her: 400
      })
      const results = await Promise.all(sends)
      expect(results.filter((_, i) => i % 3 === 0).map((r) => r.status)).toEqual(Array(10).fill(201))
      expect(results.filter((_, i) => i % 3 === 1).map((r) => r.body.code)).toEqual(Array(10).fill('forbidden'))
      const named = results.filter((_, i) => i % 3 === 2)
      expect(named.map((r) => r.status)).toEqual(Array(10).fill(400))
      expect(named.every((r) => r.body.errors[0].param === 'senderId')).toBe(true)
      const history = await world.secret('GET', url)
      expect(history.body.data.map((m: { seq: number; senderId: string }) => [m.seq, m.senderId])).toEqual(
        Array.from({ length: 10 }, (_, i) => [i + 1, 'ann']),
      )
      // Sends that were all refused do not make the conversation look active.
      const other = await world.group(['ann', 'bob'])
      const quiet = (await world.secret('GET', `/v1/conversations/${other}`)).body
      expect((await world.as(eve, 'POST', `/v1/conversations/${other}/messages`, { text: 'no' })).status).toBe(403)
      expect((await world.secret('GET', `/v1/conversations/${other}`)).body).toMatchObject({ lastSeq: 0, lastActivityAt: quiet.lastActivityAt })
    })
  })
}
