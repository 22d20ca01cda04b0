/**
 * Parley as users run it (`parley start`, its own process, SQLite on disk) restarted under two
 * connected clients while one of them keeps sending: gracefully (SIGTERM, sockets closed with
 * 1012) and by a crash (SIGKILL, connections reset). After the restart the listening client has
 * every message exactly once and in order, and storage holds each message once (the sender's
 * retries carry the same clientMessageId).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ParleyProcess, freePort, startProcess } from '../../server/test/helpers/processes.js'
import type { Parley } from '../src/index.js'
import { clientFor, oneTo, sleep, waitFor } from './helpers/clients.js'

const MESSAGES = 60
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Sends m1…mN, each retried with the same clientMessageId until Parley takes it (it may be down meanwhile). */
async function keepSending(parley: Parley, conversationId: string): Promise<void> {
  for (let i = 1; i <= MESSAGES; i++) {
    for (;;) {
      try {
        await parley.messages.send(conversationId, { text: `m${i}`, clientMessageId: `m${i}` })
        break
      } catch {
        await sleep(100)
      }
    }
    await sleep(20)
  }
}

describe.each(['SIGTERM', 'SIGKILL'] as const)('Parley restarted (%s) mid-conversation', (signal) => {
  it('every message reaches the other user exactly once, in order, and is stored once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-client-restart-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const adminKey = randomBytes(24).toString('hex')
    const port = await freePort()
    const env = { PARLEY_DATABASE_URL: `sqlite:${join(dir, 'parley.db')}`, PARLEY_ADMIN_KEY: adminKey }
    let server: ParleyProcess = await startProcess(env, { port })
    cleanups.push(() => server.stop())

    const created = await fetch(`${server.url}/v1/admin/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Acme', plan: 'pro' }),
    }).then((res) => res.json())
    const key = created.keys.live.key as string
    const alice = clientFor(server.url, key, 'alice')
    const bob = clientFor(server.url, key, 'bob')
    cleanups.push(() => alice.parley.close(), () => bob.parley.close())
    await bob.parley.me()
    const { id } = await alice.parley.conversations.create({ type: 'group', members: ['bob'] })
    await Promise.all([alice.parley.connect(), bob.parley.connect()])

    const sending = keepSending(bob.parley, id)
    await waitFor(() => alice.seqs(id).length >= 15, 10_000, 'messages before the restart')
    await (signal === 'SIGTERM' ? server.stop() : server.kill())
    await sleep(300)
    server = await startProcess(env, { port })
    await sending
    await waitFor(() => alice.seqs(id).length >= MESSAGES, 20_000, 'every message after the restart')
    await sleep(300)

    expect(alice.seqs(id)).toEqual(oneTo(MESSAGES))
    const texts = alice.events.filter((e) => e.event === 'message.created').map((e) => e.data.text)
    expect(texts).toEqual(oneTo(MESSAGES).map((i) => `m${i}`))
    expect(alice.states).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    await waitFor(() => bob.seqs(id).length >= MESSAGES, 10_000, 'the sender’s own messages')
    expect(bob.seqs(id)).toEqual(oneTo(MESSAGES))
    const stored = await alice.parley.messages.list(id, { limit: 200 })
    expect(stored.data.map((m) => m.text)).toEqual(texts)
  })
})
