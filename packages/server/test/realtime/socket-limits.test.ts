/**
 * Limits on sockets (API.md §12): open sockets per user or visitor and per secret key (one more is
 * refused: 429 on the upgrade, or close 4008 after the auth frame), and failed socket
 * authentications counted by the same per-address throttle as HTTP, checked before any credential
 * is verified.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { ChatWorld } from '../helpers/chat-world.js'
import type { TestParley } from '../helpers/parley.js'
import { expectProblem } from '../helpers/problems.js'
import { connect, listeningWorld, refusedUpgrade, waitFor } from '../helpers/realtime.js'
import { type TestSocket, openSocket } from '../helpers/sockets.js'

describe('sockets per holder', () => {
  let t: TestParley
  let world: ChatWorld
  let url: string
  beforeAll(async () => {
    ;({ t, world, url } = await listeningWorld({ PARLEY_MAX_SOCKETS_PER_USER: '2', PARLEY_MAX_SOCKETS_PER_KEY: '2' }))
  })
  afterAll(() => t.close())

  /** Closes sockets and waits until the server has seen them go. */
  async function closeAll(sockets: TestSocket[]) {
    const before = t.parley.services.gateway.openSockets
    for (const socket of sockets) socket.close()
    await waitFor(() => t.parley.services.gateway.openSockets <= before - sockets.length)
  }

  it('refuses a user’s socket beyond the cap: 429 on the upgrade, 4008 after the auth frame', async () => {
    const token = await world.token('amy')
    const open = [await connect(url, token), await connect(url, await world.token('amy'))]

    const refusal = await refusedUpgrade(url, { authorization: `Bearer ${token}` })
    expectProblem(refusal, 429, 'rate_limited')
    expect(Number(refusal.headers['retry-after'])).toBeGreaterThanOrEqual(1)

    const late = await openSocket(url)
    late.send({ type: 'auth', token })
    expect(await late.closed()).toBe(4008)

    // Another user is not affected; and once one of amy's sockets is gone, she may open one again.
    const other = await connect(url, await world.token('bob'))
    await closeAll([open[0]!])
    const again = await connect(url, token)
    await closeAll([open[1]!, again, other])
  })

  it('caps a visitor’s sockets like a user’s', async () => {
    const { token } = await world.visitor('returning-device')
    const open = [await connect(url, token), await connect(url, token)]
    expectProblem(await refusedUpgrade(url, { authorization: `Bearer ${token}` }), 429, 'rate_limited')
    await closeAll(open)
  })

  it('refuses a secret key’s socket beyond the cap, whichever way it authenticates', async () => {
    const key = (await world.secret('POST', '/v1/keys', { name: 'events', type: 'secret', scopes: ['events:read'] })).body.key as string
    const open = [await connect(url, key), await connect(url, key)]
    expectProblem(await refusedUpgrade(url, { authorization: `Bearer ${key}` }), 429, 'rate_limited')
    const late = await openSocket(url)
    late.send({ type: 'auth', token: key })
    expect(await late.closed()).toBe(4008)
    // The cap is per key: the tenant's other key still connects.
    const other = await connect(url, world.key)
    await closeAll([...open, other])
  })

  it('defaults to 20 sockets per user and per key', () => {
    const config = loadConfig({})
    expect([config.maxSocketsPerUser, config.maxSocketsPerKey]).toEqual([20, 20])
  })
})

describe('failed socket authentications', () => {
  let t: TestParley
  let world: ChatWorld
  let url: string
  beforeAll(async () => {
    ;({ t, world, url } = await listeningWorld({ PARLEY_AUTH_FAILURES_PER_MINUTE: '3' }))
  })
  afterAll(() => t.close())

  it('count toward the per-address throttle, which then refuses sockets and requests before verifying anything', async () => {
    const token = await world.token('cy') // minted before the address is throttled
    const forged = 'sk_live_' + 'A'.repeat(38)
    expectProblem(await refusedUpgrade(url, { authorization: `Bearer ${forged}` }), 401, 'invalid_api_key')
    expectProblem(await refusedUpgrade(url, { authorization: 'Bearer not.a.token' }), 401, 'invalid_token')
    const framed = await openSocket(url)
    framed.send({ type: 'auth', token: forged })
    expect(await framed.closed()).toBe(4003) // the third failure: answered as usual

    const { services } = t.parley
    const keyChecks = vi.spyOn(services.verifier, 'verify')
    const tokenChecks = vi.spyOn(services.tokens, 'verify')
    try {
      // Over the threshold: even a valid token is refused, unread, on the upgrade…
      const refusal = await refusedUpgrade(url, { authorization: `Bearer ${token}` })
      expectProblem(refusal, 429, 'rate_limited')
      expect(Number(refusal.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      // …an upgrade that would authenticate with its first frame…
      expectProblem(await refusedUpgrade(url), 429, 'rate_limited')
      // …and an HTTP request: one throttle for both transports.
      expectProblem(await t.call('GET', '/v1/identity/me', { auth: token }), 429, 'rate_limited')
      expect(keyChecks).not.toHaveBeenCalled()
      expect(tokenChecks).not.toHaveBeenCalled()
    } finally {
      vi.restoreAllMocks()
    }
  })
})
