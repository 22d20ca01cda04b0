/**
 * A client that stops reading while a conversation is busy is dropped once about 1 MiB of output
 * waits for it, instead of the server buffering without bound; readers that keep up are unharmed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../helpers/chat-world.js'
import type { TestParley } from '../helpers/parley.js'
import { HIGH_KEY_LIMIT, connect, listeningWorld, sleep, waitFor } from '../helpers/realtime.js'

let t: TestParley
let world: ChatWorld
let url: string

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld(HIGH_KEY_LIMIT))
  await world.users('amy', 'ben', 'cat')
})
afterAll(() => t.close())

// About 38 KB per event: 10,000 three-byte characters of text and 8 KB of metadata.
const BIG_TEXT = '€'.repeat(10_000)
const BIG_METADATA = { blob: 'm'.repeat(8 * 1024 - 20) }

describe('slow consumers', () => {
  it('drops a socket that stops reading, and keeps serving the one that reads', async () => {
    const id = await world.group(['amy', 'ben', 'cat'])
    const slow = await connect(url, await world.token('amy'))
    const reader = await connect(url, await world.token('cat'))
    const gateway = t.parley.services.gateway
    expect(gateway.openSockets).toBe(2)

    // Stop reading: the kernel buffers fill up, then the server's own send buffer grows.
    ;(slow.ws as any)._socket.pause()

    const started = Date.now()
    let sent = 0
    while (gateway.openSockets === 2 && Date.now() - started < 20_000 && sent < 1500) {
      const res = await world.secret('POST', `/v1/conversations/${id}/messages`, { text: BIG_TEXT, metadata: BIG_METADATA, senderId: 'ben' })
      expect(res.status).toBe(201)
      sent++
      // The reader lives in this process and the POSTs are injected without I/O: a turn of timers
      // lets it read, as a reader in a process of its own would, rather than racing the kernel's
      // socket buffers for as long as this loop runs.
      await sleep(1)
    }
    expect(gateway.openSockets, `still 2 sockets after ${sent} messages (~${Math.round((sent * 38) / 1024)} MB)`).toBe(1)
    // Not before 1 MiB could have been waiting for it (≈ 38 KB a message), nor without bound.
    expect(sent).toBeGreaterThan(27)
    expect(sent).toBeLessThan(1500)

    // The reader got every message and stays open.
    await waitFor(() => reader.frames.filter((f) => f.event === 'message.created').length === sent, 10_000, 'the reader to catch up').catch((e) => { console.log('DEBUG', sent, reader.frames.length, (reader.ws as any)._socket.bytesRead, [...(gateway as any).connections].map((c: any) => [c.userId, c.socket.bufferedAmount, c.socket._socket.bytesWritten, c.socket.readyState])); throw e })
    expect(reader.frames.filter((f) => f.event === 'message.created').map((f) => f.data.seq)).toEqual(Array.from({ length: sent }, (_, i) => i + 1))
    reader.send({ type: 'ping', id: 'fine' })
    expect((await reader.next((f) => f.type === 'pong')).id).toBe('fine')

    // Once the slow client reads again it finds the connection gone (terminated: 1006).
    ;(slow.ws as any)._socket.resume()
    expect(await slow.closed(10_000)).toBeOneOf([1006, 4008])
    reader.close()
  }, 40_000)
})
