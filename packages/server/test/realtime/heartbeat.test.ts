/**
 * Heartbeat (API.md §6): the server pings every 30 s and drops sockets that miss two pings.
 * The gateway's once-a-second sweep is a setInterval; only setInterval is faked here (installed
 * before Parley starts), so the test moves the sweep through minutes of heartbeats at once while
 * sockets, storage and the clock stay real.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type ChatWorld, chatWorld } from '../helpers/chat-world.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { connect, sleep, waitFor } from '../helpers/realtime.js'
import type { TestSocket } from '../helpers/sockets.js'

let t: TestParley
let world: ChatWorld
let url: string

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
  t = await startParley()
  world = await chatWorld(t)
  url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(async () => {
  await t.close()
  vi.useRealTimers()
})

/** Thirty sweeps (one heartbeat), then a little real time for pings and pongs to travel. */
async function heartbeat() {
  vi.advanceTimersByTime(30_000)
  await sleep(150)
}

const open = (socket: TestSocket) => socket.ws.readyState === socket.ws.OPEN

describe('heartbeat', () => {
  it('pings every 30 s; a client that answers stays connected through many heartbeats', async () => {
    const socket = await connect(url, await world.token('amy'))
    let pings = 0
    socket.ws.on('ping', () => pings++)
    for (let i = 0; i < 4; i++) await heartbeat()
    expect(pings).toBe(4)
    expect(open(socket)).toBe(true)
    expect(t.parley.services.gateway.openSockets).toBe(1)
    socket.close()
    await waitFor(() => t.parley.services.gateway.openSockets === 0)
  })

  it('spreads the pings over the 30 s: each socket once, not all in the same sweep', async () => {
    const sockets = await Promise.all(['dan', 'eve', 'fay'].map(async (id) => connect(url, await world.token(id))))
    const pingedAt = sockets.map(() => [] as number[])
    sockets.forEach((socket, i) => socket.ws.on('ping', () => pingedAt[i]!.push(tick)))
    let tick = 0
    for (tick = 1; tick <= 30; tick++) {
      vi.advanceTimersByTime(1000)
      await sleep(10)
    }
    await sleep(100)
    expect(pingedAt.map((ticks) => ticks.length)).toEqual([1, 1, 1])
    expect(new Set(pingedAt.map((ticks) => ticks[0])).size).toBe(3)
    for (const socket of sockets) socket.close()
    await waitFor(() => t.parley.services.gateway.openSockets === 0)
  })

  it('drops a socket that misses two pings, and not after one', async () => {
    const healthy = await connect(url, await world.token('ben'))
    const silent = await connect(url, await world.token('cat'))
    ;(silent.ws as any)._socket.pause() // it reads nothing more, so it never answers a ping
    const gateway = t.parley.services.gateway

    await heartbeat() // first ping
    await heartbeat() // first ping missed: still there
    expect(gateway.openSockets).toBe(2)
    await heartbeat() // second ping missed: dropped
    expect(gateway.openSockets).toBe(1)
    expect(open(healthy)).toBe(true)
    healthy.send({ type: 'ping', id: 'still' })
    expect((await healthy.next((f) => f.type === 'pong')).id).toBe('still')
    healthy.close()
    ;(silent.ws as any)._socket.resume()
    await silent.closed(5000)
  })
})
