/**
 * Slow and greedy clients (API.md §12, http/connections.ts), against a real listening server with
 * small limits: a body or headers that arrive too slowly get 408 and a closed connection, an idle
 * keep-alive connection is closed, a WebSocket outlives every HTTP timeout, and one address
 * cannot hold more than its share of connections while other addresses still get in.
 */
import { EventEmitter } from 'node:events'
import type { Server } from 'node:http'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { capConnectionsPerAddress } from '../src/http/connections.js'
import { type TestParley, capturedLogs, startParley } from './helpers/parley.js'
import { connect, sleep } from './helpers/realtime.js'

const HEADERS_TIMEOUT_MS = 400
const REQUEST_TIMEOUT_MS = 1500
const KEEP_ALIVE_TIMEOUT_MS = 1000

interface RawConnection {
  socket: net.Socket
  /** Everything the server sent. */
  received(): string
  /** Resolves with the ms from opening to the close, or with null if still open after `withinMs`. */
  closed(withinMs: number): Promise<number | null>
}

function rawConnection(port: number, localAddress = '127.0.0.1'): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const opened = Date.now()
    const socket = net.connect({ port, host: '127.0.0.1', localAddress })
    let data = ''
    let closedAfter: number | null = null
    const waiters: (() => void)[] = []
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('error', () => {}) // a refused connection may be reset
    socket.on('close', () => {
      closedAfter = Date.now() - opened
      for (const wake of waiters) wake()
    })
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closed: (withinMs) =>
          new Promise((done) => {
            if (closedAfter !== null) return done(closedAfter)
            const timer = setTimeout(() => done(null), withinMs)
            waiters.push(() => (clearTimeout(timer), done(closedAfter)))
          }),
      }),
    )
    socket.once('error', reject)
  })
}

/** Writes `chunks` one every `everyMs` until the socket closes or they run out. */
async function trickle(connection: RawConnection, chunks: string[], everyMs: number): Promise<void> {
  for (const chunk of chunks) {
    if (connection.socket.destroyed || !connection.socket.writable) return
    connection.socket.write(chunk)
    await sleep(everyMs)
  }
}

function expectTimeoutProblem(text: string): void {
  expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
  expect(text).toMatch(/content-type: application\/problem\+json/i)
  expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 408, code: 'invalid_request' })
}

describe('timeouts', () => {
  let t: TestParley
  let port: number
  let url: string
  beforeAll(async () => {
    t = await startParley({
      env: {
        PARLEY_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        PARLEY_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        PARLEY_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
      },
    })
    url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
    port = Number(new URL(url).port)
  })
  afterAll(() => t.close())

  it('a body sent too slowly is cut off after the request timeout with 408', async () => {
    const tenant = await t.createTenant()
    const connection = await rawConnection(port)
    const head =
      `POST /v1/users HTTP/1.1\r\nHost: parley.test\r\nAuthorization: Bearer ${tenant.liveKey}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n'
    // One byte every 50 ms would take 50 s to finish the body.
    void trickle(connection, [head, ...' '.repeat(1000)], 50)
    const closedAfter = await connection.closed(REQUEST_TIMEOUT_MS + 3000)
    expect(closedAfter).not.toBeNull()
    expect(closedAfter!).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100)
    expectTimeoutProblem(connection.received())
    // The handler waiting for that body gave up quietly: nothing was logged as a server error.
    await sleep(100)
    expect(capturedLogs.filter((line) => /"level":(50|60)/.test(line))).toEqual([])
  })

  it('a body slower than the headers timeout but within the request timeout is served', async () => {
    const tenant = await t.createTenant()
    const connection = await rawConnection(port)
    const body = JSON.stringify({ id: 'slow-but-fine' })
    connection.socket.write(
      `POST /v1/users HTTP/1.1\r\nHost: parley.test\r\nAuthorization: Bearer ${tenant.liveKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`,
    )
    await sleep(HEADERS_TIMEOUT_MS + 200)
    connection.socket.write(body.slice(5))
    expect(await connection.closed(REQUEST_TIMEOUT_MS + 3000)).not.toBeNull()
    expect(connection.received()).toMatch(/^HTTP\/1\.1 20[01] /)
  })

  it('unfinished headers, or none at all, are closed after the headers timeout with 408', async () => {
    const silent = await rawConnection(port)
    const slow = await rawConnection(port)
    void trickle(slow, ['GET /healthz HTTP/1.1\r\nHost: parley.test\r\n', ...Array.from({ length: 200 }, (_, i) => `x-pad-${i}: y\r\n`)], 50)
    for (const connection of [silent, slow]) {
      const closedAfter = await connection.closed(REQUEST_TIMEOUT_MS + 3000)
      expect(closedAfter).not.toBeNull()
      // The headers timeout, well before the request timeout would have applied.
      expect(closedAfter!).toBeLessThan(REQUEST_TIMEOUT_MS)
      expectTimeoutProblem(connection.received())
    }
  })

  it('an idle keep-alive connection is closed after the keep-alive timeout (advertised to the client)', async () => {
    const connection = await rawConnection(port)
    connection.socket.write('GET /healthz HTTP/1.1\r\nHost: parley.test\r\n\r\n')
    // Node keeps the socket one second beyond the advertised timeout, so a client reusing it at the deadline is not reset.
    const closedAfter = await connection.closed(KEEP_ALIVE_TIMEOUT_MS + 4000)
    expect(closedAfter).not.toBeNull()
    expect(connection.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(connection.received()).toMatch(/\r\nkeep-alive: timeout=1\r\n/i)
  })

  it('a WebSocket stays open past the request and headers timeouts', async () => {
    const tenant = await t.createTenant()
    const socket = await connect(url, tenant.liveKey)
    await sleep(REQUEST_TIMEOUT_MS * 2)
    socket.send({ type: 'ping', id: 'still-there' })
    expect(await socket.next((f) => f.type === 'pong' && f.id === 'still-there')).toBeTruthy()
    expect(socket.ws.readyState).toBe(socket.ws.OPEN)
    socket.close()
  })
})

describe('connections per client address', () => {
  const CAP = 5
  let t: TestParley
  let port: number
  beforeAll(async () => {
    t = await startParley({ env: { PARLEY_MAX_CONNECTIONS_PER_IP: String(CAP) } })
    const url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
    port = Number(new URL(url).port)
  })
  afterAll(() => t.close())

  /** One request on a fresh connection from `localAddress`: the status line, or null if refused. */
  async function statusFrom(localAddress: string): Promise<string | null> {
    const connection = await rawConnection(port, localAddress)
    connection.socket.write('GET /healthz HTTP/1.1\r\nHost: parley.test\r\nConnection: close\r\n\r\n')
    await connection.closed(5000)
    return connection.received().split('\r\n')[0] || null
  }

  it('refuses one connection more than the cap from one address, while other addresses get in', async () => {
    const held = await Promise.all(Array.from({ length: CAP }, () => rawConnection(port)))
    const extra = await rawConnection(port)
    expect(await extra.closed(3000)).not.toBeNull()
    expect(extra.received()).toBe('')
    expect(await statusFrom('127.0.0.1')).toBeNull()
    // Another address (the whole 127/8 is loopback) is not affected.
    expect(await statusFrom('127.0.0.2')).toBe('HTTP/1.1 200 OK')
    // The held connections still work, and closing one frees a place.
    held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: parley.test\r\nConnection: close\r\n\r\n')
    expect(await held[0]!.closed(3000)).not.toBeNull()
    expect(held[0]!.received()).toMatch(/^HTTP\/1\.1 200 OK/)
    await sleep(50)
    expect(await statusFrom('127.0.0.1')).toBe('HTTP/1.1 200 OK')
    for (const connection of held) connection.socket.destroy()
  })
})

describe('connections per client address, IPv6', () => {
  /** A connection as the server sees it: its peer address, and whether the cap destroyed it. */
  class PeerSocket extends EventEmitter {
    destroyed = false
    constructor(readonly remoteAddress: string) {
      super()
    }
    destroy() {
      this.destroyed = true
      this.emit('close')
    }
  }

  it('counts a /64 as one client (and an IPv4-mapped address as its IPv4 address)', () => {
    const server = new EventEmitter()
    capConnectionsPerAddress(server as Server, 2)
    const connect = (address: string) => {
      const socket = new PeerSocket(address)
      server.emit('connection', socket)
      return socket
    }
    const [a, b] = [connect('2001:db8:1:2::1'), connect('2001:db8:1:2:ffff::9')]
    expect(connect('2001:db8:1:2::abcd').destroyed).toBe(true) // a third address of the same /64
    expect(connect('2001:db8:1:3::1').destroyed).toBe(false) // the next /64 is another client
    expect([a.destroyed, b.destroyed]).toEqual([false, false])
    a.emit('close')
    expect(connect('2001:db8:1:2::abcd').destroyed).toBe(false)

    connect('203.0.113.7')
    connect('::ffff:203.0.113.7')
    expect(connect('203.0.113.7').destroyed).toBe(true)
  })
})
