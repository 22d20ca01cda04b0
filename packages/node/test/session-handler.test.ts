/**
 * createSessionHandler mounted in a real Express app and called as a fetch handler: seed 000's
 * answer shape with a token that works, 401 when nobody is signed in, 503 when Parley fails.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { listeningWorld } from '../../server/test/helpers/realtime.js'
import { type SessionUser, Parley, createSessionHandler } from '../src/index.js'

let t: TestParley
let world: ChatWorld
let url: string
let parley: Parley

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld())
  parley = new Parley({ apiKey: world.key, apiUrl: url })
})
afterAll(() => t?.close())

/** The app's own sign-in, for the test: the user named by a header. */
const fromHeader = (value: string | null | undefined): SessionUser | null => (value ? { id: value, displayName: `${value[0]!.toUpperCase()}${value.slice(1)}` } : null)

/** A session token must work against Parley, as the user it names. */
async function expectWorkingSession(body: Record<string, unknown>, userId: string) {
  expect(Object.keys(body).sort()).toEqual(['apiUrl', 'chatUserId', 'displayName', 'expiresAt', 'token'])
  expect(body).toMatchObject({ apiUrl: `${url}/v1`, chatUserId: userId })
  const me = await fetch(`${body.apiUrl}/identity/me`, { headers: { authorization: `Bearer ${body.token}` } })
  expect(me.status).toBe(200)
  expect((await me.json()).user.id).toBe(userId)
}

describe('in an Express app', () => {
  let server: ReturnType<express.Express['listen']>
  let app: string
  beforeAll(async () => {
    const expressApp = express()
    expressApp.post('/parley-session', createSessionHandler({ parley, getUser: async (req) => fromHeader(req.headers['x-user'] as string | undefined) }))
    const down = new Parley({ apiKey: world.key, apiUrl: 'http://127.0.0.1:9', maxRetries: 0 })
    expressApp.post('/down', createSessionHandler({ parley: down, getUser: () => ({ id: 'zed' }) }))
    server = expressApp.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    app = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('upserts the user and answers a working session in seed 000 shape', async () => {
    const res = await fetch(`${app}/parley-session`, { method: 'POST', headers: { 'x-user': 'alice' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = await res.json()
    expect(body.displayName).toBe('Alice')
    await expectWorkingSession(body, 'alice')
    expect((await parley.users.get('alice')).displayName).toBe('Alice')
  })

  it('answers 401 { error: "Unauthorized" } when getUser finds nobody', async () => {
    const res = await fetch(`${app}/parley-session`, { method: 'POST' })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: 'Unauthorized' })
  })

  it('answers 503 { error: "Chat unavailable" } when Parley cannot be reached', async () => {
    const res = await fetch(`${app}/down`, { method: 'POST' })
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ error: 'Chat unavailable' })
  })
})

describe('as a fetch handler', () => {
  it('answers Request → Response with the same shape, 401 and 503', async () => {
    const handler = createSessionHandler({ parley, getUser: (request: Request) => fromHeader(request.headers.get('x-user')), expiresIn: 120 })
    const ok = await handler.fetch(new Request('http://app/parley-session', { method: 'POST', headers: { 'x-user': 'bob' } }))
    expect(ok.status).toBe(200)
    const body = await ok.json()
    await expectWorkingSession(body, 'bob')
    expect(Date.parse(body.expiresAt) - Date.now()).toBeLessThanOrEqual(120_000)

    const nobody = await handler.fetch(new Request('http://app/parley-session', { method: 'POST' }))
    expect([nobody.status, await nobody.json()]).toEqual([401, { error: 'Unauthorized' }])

    // A key Parley refuses is a failure of Parley's side of the route too: the browser learns only that chat is down.
    const revoked = createSessionHandler({ parley: new Parley({ apiKey: 'sk_live_revoked', apiUrl: url }), getUser: () => ({ id: 'bob' }) })
    const failed = await revoked.fetch(new Request('http://app/parley-session', { method: 'POST' }))
    expect([failed.status, await failed.json()]).toEqual([503, { error: 'Chat unavailable' }])
  })
})
