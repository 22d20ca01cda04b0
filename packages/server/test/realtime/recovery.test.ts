/**
 * Recovery after a disconnection (API.md §6): `resume { positions }` replays every missed message
 * in seq order, exactly once, then `resumed`; more than 1,000 missed in a conversation → `resync`;
 * positions naming conversations the user is not in are ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../helpers/chat-world.js'
import type { TestParley } from '../helpers/parley.js'
import { HIGH_KEY_LIMIT, connect, eventsOf, listeningWorld, seqsOf, sleep } from '../helpers/realtime.js'
import { range } from '../helpers/values.js'

let t: TestParley
let world: ChatWorld
let url: string

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld(HIGH_KEY_LIMIT))
  await world.users('amy', 'ben', 'cat')
})
afterAll(() => t.close())

async function sendMany(conversationId: string, senderId: string, count: number, prefix = 'm') {
  const seqs: number[] = []
  for (let i = 0; i < count; i++) seqs.push((await world.send(conversationId, senderId, `${prefix}${i}`)).seq)
  return seqs
}

describe('resume', () => {
  it('replays the messages missed while disconnected, in order, exactly once, then says resumed', async () => {
    const id = await world.group(['amy', 'ben'])
    const amy = await connect(url, await world.token('amy'))
    await sendMany(id, 'ben', 5)
    await amy.next((f) => f.data?.seq === 5)
    amy.close()
    await amy.closed()

    await sendMany(id, 'ben', 30) // seqs 6…35, while amy is away
    const back = await connect(url, await world.token('amy'))
    back.send({ type: 'resume', positions: { [id]: 5 } })
    await back.next((f) => f.type === 'resumed')
    expect(seqsOf(back.frames, id)).toEqual(range(6, 35))
    const types = back.frames.map((f) => f.type)
    expect(types.indexOf('resumed')).toBe(types.length - 1)

    // Live delivery carries on after the replay, without repeats.
    await sendMany(id, 'ben', 2)
    await back.next((f) => f.data?.seq === 37)
    await sleep(100)
    expect(seqsOf(back.frames, id)).toEqual(range(6, 37))
    back.close()
  })

  it('replays several conversations, each in its own seq order, and nothing already seen', async () => {
    const first = await world.group(['amy', 'ben'])
    const second = await world.group(['amy', 'cat'])
    const quiet = await world.group(['amy', 'cat'])
    await sendMany(first, 'ben', 4)
    await sendMany(second, 'cat', 6)
    await sendMany(quiet, 'cat', 2)
    const amy = await connect(url, await world.token('amy'))
    amy.send({ type: 'resume', positions: { [first]: 1, [second]: 0, [quiet]: 2 } })
    await amy.next((f) => f.type === 'resumed')
    expect(seqsOf(amy.frames, first)).toEqual([2, 3, 4])
    expect(seqsOf(amy.frames, second)).toEqual(range(1, 6))
    expect(seqsOf(amy.frames, quiet)).toEqual([])
    expect(eventsOf(amy, 'message.created', second).map((f) => f.data.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5'])
    expect(amy.frames.filter((f) => f.type === 'resync')).toEqual([])
    amy.close()
  })

  it('ignores positions naming a conversation the user is not in, or none at all', async () => {
    const own = await world.group(['amy', 'ben'])
    const foreign = await world.group(['ben', 'cat'])
    await sendMany(own, 'ben', 2)
    await sendMany(foreign, 'cat', 3, 'secret')
    const amy = await connect(url, await world.token('amy'))
    amy.send({ type: 'resume', positions: { [foreign]: 0, conv_doesnotexist: 0, [own]: 0 } })
    await amy.next((f) => f.type === 'resumed')
    expect(seqsOf(amy.frames, own)).toEqual([1, 2])
    expect(amy.frames.filter((f) => f.conversationId === foreign)).toEqual([])
    expect(amy.frames.some((f) => f.data?.text?.startsWith('secret'))).toBe(false)
    expect(amy.frames.filter((f) => f.type === 'resync' || f.type === 'error')).toEqual([])
    amy.close()
  })

  it('replays exactly 1,000 missed messages, and sends resync for a conversation with more', async () => {
    const big = await world.group(['amy', 'ben'])
    const small = await world.group(['amy', 'ben'])
    await Promise.all([sendMany(big, 'ben', 501, 'a'), sendMany(big, 'ben', 500, 'b')]) // seqs 1…1001
    await sendMany(small, 'ben', 3)

    const amy = await connect(url, await world.token('amy'))
    amy.send({ type: 'resume', positions: { [big]: 0, [small]: 1 } })
    await amy.next((f) => f.type === 'resumed', 10_000)
    expect(amy.frames.filter((f) => f.type === 'resync')).toEqual([{ type: 'resync', conversationId: big }])
    expect(seqsOf(amy.frames, big)).toEqual([])
    expect(seqsOf(amy.frames, small)).toEqual([2, 3])
    amy.close()

    const again = await connect(url, await world.token('amy'))
    again.send({ type: 'resume', positions: { [big]: 1 } }) // 1,000 missing: replayed
    await again.next((f) => f.type === 'resumed', 10_000)
    expect(again.frames.filter((f) => f.type === 'resync')).toEqual([])
    expect(seqsOf(again.frames, big)).toEqual(range(2, 1001))
    again.close()
  }, 60_000)

  it('replays the edits and deletions (message.*) made while disconnected, not only new messages', async () => {
    const id = await world.group(['amy', 'ben'])
    const seen = await world.send(id, 'ben', 'typo')
    const doomed = await world.send(id, 'ben', 'oops')
    const amy = await connect(url, await world.token('amy'))
    amy.close()
    await amy.closed()
    expect((await world.secret('PATCH', `/v1/conversations/${id}/messages/${seen.id}`, { text: 'fixed' })).status).toBe(200)
    expect((await world.secret('DELETE', `/v1/conversations/${id}/messages/${doomed.id}`)).status).toBe(204)

    const back = await connect(url, await world.token('amy'))
    back.send({ type: 'resume', positions: { [id]: 2 } }) // amy had seen both messages
    await back.next((f) => f.type === 'resumed')
    const replayed = back.frames.filter((f) => f.type === 'event').map((f) => [f.event, f.data.id])
    expect(replayed).toEqual([
      ['message.updated', seen.id],
      ['message.deleted', doomed.id],
    ])
    back.close()
  })
})
