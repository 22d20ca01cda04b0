/**
 * Resume while messages keep arriving: messages sent while the client is away and others sent
 * concurrently with the reconnection and the replay must each reach the client exactly once, in
 * seq order, whether the replay or live delivery carries them.
 *
 * The second case delays broker delivery by a few milliseconds, as a Redis broker does: a message
 * committed before the replay reads storage may then be delivered live after the replay is done.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { MemoryBroker } from '../../src/realtime/broker-memory.js'
import type { ChatWorld } from '../helpers/chat-world.js'
import type { TestParley } from '../helpers/parley.js'
import { HIGH_KEY_LIMIT, connect, listeningWorld, seqsOf, sleep, waitFor } from '../helpers/realtime.js'
import { range } from '../helpers/values.js'

let t: TestParley
let world: ChatWorld
let url: string

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld(HIGH_KEY_LIMIT))
  await world.users('amy', 'ben')
})
afterAll(() => t.close())
afterEach(() => vi.restoreAllMocks())

/** Sends `count` messages one after another, with tiny pauses, starting at once. */
async function trickle(conversationId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await world.send(conversationId, 'ben', `live ${i}`)
    await sleep(i % 3)
  }
}

async function disconnectSendAndResume(rounds: number) {
  for (let round = 0; round < rounds; round++) {
    const id = await world.group(['amy', 'ben'])
    const amy = await connect(url, await world.token('amy'))
    for (let i = 0; i < 3; i++) await world.send(id, 'ben', `seen ${i}`)
    await amy.next((f) => f.data?.seq === 3)
    amy.close()
    await amy.closed()

    for (let i = 0; i < 30; i++) await world.send(id, 'ben', `missed ${i}`) // seqs 4…33
    const live = trickle(id, 25) // seqs 34…58, concurrently with the reconnection and the replay
    const back = await connect(url, await world.token('amy'))
    back.send({ type: 'resume', positions: { [id]: 3 } })
    await back.next((f) => f.type === 'resumed', 10_000)
    await live
    await waitFor(() => seqsOf(back.frames, id).includes(58), 3000, `seq 58 in round ${round}`)
    await sleep(100)

    const seqs = seqsOf(back.frames, id)
    expect(new Set(seqs), `round ${round}: everything arrives`).toEqual(new Set(range(4, 58)))
    // Messages delivered live before the server read the resume frame are covered by another
    // test; from the first replayed message on, each seq comes once and in order.
    expect(seqs.slice(seqs.indexOf(4)), `round ${round}: from the replay on`).toEqual(range(4, 58))
    // Every message missed before the reconnection comes before `resumed`.
    const resumedAt = back.frames.findIndex((f) => f.type === 'resumed')
    const lastMissedAt = back.frames.findIndex((f) => f.event === 'message.created' && f.data.seq === 33)
    expect(lastMissedAt).toBeLessThan(resumedAt)
    back.close()
  }
}

describe('resume with concurrent sends', () => {
  it('does not send again a message already delivered live on this socket before the resume', async () => {
    const id = await world.group(['amy', 'ben'])
    for (let i = 0; i < 5; i++) await world.send(id, 'ben', `missed ${i}`) // seqs 1…5, amy away
    const amy = await connect(url, await world.token('amy'))
    await world.send(id, 'ben', 'live') // seq 6, delivered live right after ready
    await amy.next((f) => f.data?.seq === 6)
    amy.send({ type: 'resume', positions: { [id]: 0 } })
    await amy.next((f) => f.type === 'resumed')
    const seqs = seqsOf(amy.frames, id)
    expect(seqs.filter((seq) => seq === 6), 'seq 6 delivered once').toHaveLength(1)
    expect(new Set(seqs)).toEqual(new Set(range(1, 6)))
    amy.close()
  })

  it('delivers every missed and concurrent message exactly once, in order', async () => {
    await disconnectSendAndResume(3)
  }, 30_000)

  it('still delivers each message exactly once when broker delivery lags a few milliseconds', async () => {
    const publish = MemoryBroker.prototype.publish
    vi.spyOn(MemoryBroker.prototype, 'publish').mockImplementation(function (this: MemoryBroker, channel: string, payload: string) {
      setTimeout(() => publish.call(this, channel, payload), 5)
    })
    await disconnectSendAndResume(3)
  }, 30_000)
})
