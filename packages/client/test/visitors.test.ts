/**
 * Visitor mode against a real Parley: a client built from a publishable key opens a visitor
 * session itself (`/v1/identity/init`), keeps the same visitor for the same device id (generated
 * and kept in localStorage when the app gives none), chats live, exchanges a token near its
 * expiry with `/v1/identity/refresh`, and after an idle expiry opens the same visitor again.
 * The clock is moved with vi.setSystemTime: server and client share this process, so both see it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { listeningWorld } from '../../server/test/helpers/realtime.js'
import WebSocket from 'ws'
import { Parley, type ParleyOptions } from '../src/index.js'
import { record, waitFor } from './helpers/clients.js'

let t: TestParley
let world: ChatWorld
let url: string
let publishableKey: string
const open: Parley[] = []

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld())
  await world.users('agent')
  publishableKey = (await world.secret('POST', '/v1/keys', { name: 'widget', type: 'publishable' })).body.key
})
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(open.splice(0).map((parley) => parley.close()))
})
afterAll(() => t?.close())

/** A visitor client, and the identity paths it called (its fetch passes every call on to the real fetch). */
function visitor(options: Partial<ParleyOptions> = {}): { parley: Parley; calls: string[] } {
  const calls: string[] = []
  const parley = new Parley({
    apiUrl: url,
    publishableKey,
    WebSocket,
    fetch: (input, init) => {
      const path = new URL(String(input)).pathname
      if (path.startsWith('/v1/identity/init') || path.startsWith('/v1/identity/refresh')) calls.push(path)
      return fetch(input, init)
    },
    ...options,
  })
  open.push(parley)
  return { parley, calls }
}

describe('visitors', () => {
  it('open a visitor session from a publishable key; the same visitorId is the same visitor', async () => {
    const first = visitor({ visitorId: 'device-1', profile: { name: 'Guest' } })
    const me = await first.parley.me()
    expect(me.user).toMatchObject({ kind: 'visitor', displayName: 'Guest' })
    expect(me.user.id).toMatch(/^vis_/)
    expect(first.calls).toEqual(['/v1/identity/init'])
    expect((await visitor({ visitorId: 'device-1' }).parley.me()).user.id).toBe(me.user.id)
    expect((await visitor({ visitorId: 'device-2' }).parley.me()).user.id).not.toBe(me.user.id)
  })

  it('generate a long random visitorId when none is given, and keep it in localStorage for the next visit', async () => {
    const items = new Map<string, string>()
    vi.stubGlobal('localStorage', { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) })
    try {
      const first = await visitor().parley.me()
      expect([...items.values()][0]).toMatch(/^[A-Za-z0-9]{32}$/)
      expect((await visitor().parley.me()).user.id).toBe(first.user.id)
    } finally {
      vi.unstubAllGlobals()
    }
    // Without storage every client is a new visitor.
    expect((await visitor().parley.me()).user.id).not.toBe((await visitor().parley.me()).user.id)
  })

  it('chat live: a conversation of their own, an agent added by the backend, messages both ways', async () => {
    const { parley } = visitor({ visitorId: 'device-chat' })
    const heard = record(parley)
    const { id } = await parley.conversations.create({ type: 'group', members: [], name: 'Support' })
    expect((await world.secret('POST', `/v1/conversations/${id}/members`, { userIds: ['agent'] })).status).toBe(200)
    await parley.connect()
    await world.send(id, 'agent', 'How can I help?')
    await waitFor(() => heard.seqs(id).length === 1, 3000, 'the agent’s message')
    const sent = await parley.messages.send(id, { text: 'My order is late' })
    expect(sent.seq).toBe(2)
    await waitFor(() => heard.seqs(id).length === 2)
    expect(heard.events.filter((e) => e.event === 'message.created').map((e) => e.data.text)).toEqual(['How can I help?', 'My order is late'])
  })

  it('exchange a token close to its expiry with /v1/identity/refresh, keeping the visitor', async () => {
    const { parley, calls } = visitor({ visitorId: 'device-refresh' })
    const me = await parley.me()
    vi.setSystemTime(Date.parse(me.expiresAt) - 5_000)
    const refreshed = await parley.me()
    expect(calls).toEqual(['/v1/identity/init', '/v1/identity/refresh'])
    expect(refreshed.user.id).toBe(me.user.id)
    expect(Date.parse(refreshed.expiresAt)).toBeGreaterThan(Date.parse(me.expiresAt))
  })

  it('after an idle expiry, open the same visitor again with its visitorId', async () => {
    const { parley, calls } = visitor({ visitorId: 'device-idle' })
    const me = await parley.me()
    vi.setSystemTime(Date.parse(me.expiresAt) + 60_000)
    const again = await parley.me()
    expect(calls).toEqual(['/v1/identity/init', '/v1/identity/init'])
    expect(again.user.id).toBe(me.user.id)
  })
})
