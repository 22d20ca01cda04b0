/**
 * Prebuilt broadcast frames (realtime/frame.ts) against a real `ws` client: every length encoding
 * of RFC 6455 (7-bit, 16-bit, 64-bit), multi-byte UTF-8, and order kept when they are interleaved
 * with frames that `ws` writes itself on the same socket.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { textFrame, writeFrame } from '../../src/realtime/frame.js'
import { sleep } from '../helpers/wait.js'

let server: Server
let url: string
const accepted: WebSocket[] = []

beforeAll(async () => {
  server = createServer()
  const wss = new WebSocketServer({ server, perMessageDeflate: false })
  wss.on('connection', (socket) => accepted.push(socket))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  for (const socket of accepted) socket.terminate()
  await new Promise((resolve) => server.close(resolve))
})

/** A connected pair: the server side, and the text messages the client receives. */
async function pair(): Promise<{ server: WebSocket; received: string[]; waitFor(count: number): Promise<void> }> {
  const client = new WebSocket(url)
  const received: string[] = []
  const errors: Error[] = []
  client.on('message', (data, isBinary) => received.push(isBinary ? '<binary>' : data.toString()))
  client.on('error', (error) => errors.push(error))
  await new Promise((resolve) => client.once('open', resolve))
  while (accepted.length === 0 || accepted.at(-1)!.readyState !== WebSocket.OPEN) await sleep(5)
  const serverSide = accepted.at(-1)!
  return {
    server: serverSide,
    received,
    async waitFor(count) {
      const deadline = Date.now() + 5000
      while (received.length < count && errors.length === 0 && Date.now() < deadline) await sleep(5)
      expect(errors).toEqual([])
    },
  }
}

describe('prebuilt text frames', () => {
  it.each([0, 1, 125, 126, 65_535, 65_536, 200_000])('arrive intact with a %i-byte payload', async (length) => {
    const { server: socket, received, waitFor } = await pair()
    const payload = 'x'.repeat(length)
    writeFrame(socket, textFrame(payload))
    await waitFor(1)
    expect(received).toEqual([payload])
  })

  it('carry multi-byte UTF-8 with its byte length, not its string length', async () => {
    const { server: socket, received, waitFor } = await pair()
    // 124 characters but 4 + 3 × 40 + 2 × 40 + 2 bytes: past the 7-bit length only in bytes.
    const payload = '😀' + '€'.repeat(40) + 'é'.repeat(40) + '{}' + 'a'.repeat(40)
    expect(payload.length).toBeLessThan(126)
    expect(Buffer.byteLength(payload)).toBeGreaterThan(125)
    writeFrame(socket, textFrame(payload))
    await waitFor(1)
    expect(received).toEqual([payload])
  })

  it('keep their order among frames sent by ws on the same socket', async () => {
    const { server: socket, received, waitFor } = await pair()
    const expected: string[] = []
    for (let i = 0; i < 50; i++) {
      const text = `${i}:${'y'.repeat(i * 40)}`
      expected.push(text)
      if (i % 2 === 0) writeFrame(socket, textFrame(text))
      else socket.send(text)
    }
    await waitFor(50)
    expect(received).toEqual(expected)
  })

  it('count in bufferedAmount while the kernel has not taken them', async () => {
    const { server: socket } = await pair()
    const frame = textFrame('z'.repeat(1 << 20))
    const before = socket.bufferedAmount
    for (let i = 0; i < 20; i++) writeFrame(socket, frame)
    expect(socket.bufferedAmount).toBeGreaterThan(before)
  })
})
