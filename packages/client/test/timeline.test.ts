/**
 * The event store on its own, fed the orders a socket can produce that a single real server does
 * not produce on demand: frames out of order (two nodes publishing close together), repeats (a
 * replay overlapping live frames), an edit that arrives before its message, and a gap that never
 * fills by itself (fetched from the history function, as the client does over REST).
 */
import { describe, expect, it } from 'vitest'
import { Timeline } from '../src/timeline.js'
import type { History, Message, ParleyEvent } from '../src/types.js'
import { oneTo, sleep, waitFor } from './helpers/clients.js'

const message = (seq: number, extra: Partial<Message> = {}): Message => ({
  id: `msg_${seq}`,
  conversationId: 'c',
  seq,
  senderId: 'bob',
  text: `m${seq}`,
  metadata: null,
  clientMessageId: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  editedAt: null,
  deletedAt: null,
  ...extra,
})
const created = (seq: number): ParleyEvent<Message> => ({ event: 'message.created', conversationId: 'c', data: message(seq) })

function timeline(history: Message[] = []) {
  const delivered: ParleyEvent[] = []
  const fetched: number[] = []
  const store = new Timeline(
    (event) => delivered.push(event),
    async (_id, after): Promise<History> => {
      fetched.push(after)
      const data = history.filter((m) => m.seq > after).slice(0, 2)
      return { data, hasMore: history.some((m) => m.seq > (data.at(-1)?.seq ?? after)) }
    },
    (error) => {
      throw error
    },
  )
  const seqs = () => delivered.filter((e) => e.event === 'message.created').map((e) => e.data.seq)
  return { store, delivered, fetched, seqs }
}

describe('Timeline', () => {
  it('delivers in seq order and once, whatever order and repeats the frames come in', () => {
    const { store, seqs } = timeline()
    store.follow('c', 0)
    for (const seq of [1, 3, 2, 2, 1, 5, 4, 3, 6]) store.receive(created(seq))
    expect(seqs()).toEqual(oneTo(6))
    expect(store.positions()).toEqual({ c: 6 })
  })

  it('follows a conversation from the first message heard when nothing set its position', () => {
    const { store, seqs } = timeline()
    store.receive(created(41))
    store.receive(created(42))
    expect(seqs()).toEqual([41, 42])
  })

  it('delivers an edit that came before its message right after the message, and each change once', () => {
    const { store, delivered } = timeline()
    store.follow('c', 0)
    const edit: ParleyEvent<Message> = { event: 'message.updated', conversationId: 'c', data: message(1, { text: 'edited', editedAt: '2026-01-01T00:00:01.000Z' }) }
    store.receive(edit)
    store.receive(created(1))
    store.receive(edit)
    expect(delivered.map((e) => e.event)).toEqual(['message.created', 'message.updated'])
  })

  it('fetches a gap that does not fill by itself, then delivers what waited', async () => {
    const { store, seqs, fetched } = timeline(oneTo(6).map((seq) => message(seq)))
    store.follow('c', 1)
    store.receive(created(6))
    await sleep(500)
    expect(seqs()).toEqual([])
    await waitFor(() => seqs().length === 5, 3000, 'the gap fetched')
    expect(seqs()).toEqual([2, 3, 4, 5, 6])
    expect(fetched).toEqual([1, 3])
  })

  it('pages through everything on resync, and resumes most recent conversations first', async () => {
    const { store, seqs } = timeline(oneTo(7).map((seq) => message(seq)))
    store.follow('c', 0)
    store.follow('quiet', 3)
    store.resync('c')
    await waitFor(() => seqs().length === 7, 3000, 'the resync')
    expect(Object.keys(store.positions())).toEqual(['c', 'quiet'])
  })
})
