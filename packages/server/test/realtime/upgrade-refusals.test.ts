/**
 * Upgrade requests refused with an HTTP problem+json answer before any socket exists (API.md §6,
 * §9 "Realtime"): bad Authorization → 401, a secret key without events:read or a publishable key
 * → 403, and the per-IP cap of 20 unauthenticated sockets → 429.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../helpers/chat-world.js'
import type { TestParley } from '../helpers/parley.js'
import { expectProblem } from '../helpers/problems.js'
import { connect, listeningWorld, refusedUpgrade, sleep, waitFor } from '../helpers/realtime.js'
import { claimsFor, signWithParleyKey } from '../helpers/session-helpers.js'
import { type TestSocket, openSocket } from '../helpers/sockets.js'

let t: TestParley
let world: ChatWorld
let url: string

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld())
})
afterAll(() => t.close())

describe('refused before the upgrade', () => {
  it('answers a bad Authorization token with 401 problem+json and the same challenge as HTTP', async () => {
    const refusal = await refusedUpgrade(url, { authorization: 'Bearer not.a.token' })
    expectProblem(refusal, 401, 'invalid_token')
    expect(refusal.headers['www-authenticate']).toBe('Bearer realm="parley", error="invalid_token"')
  })

  it('keeps the client’s x-request-id on a refusal, in the header and the body', async () => {
    const refusal = await refusedUpgrade(url, { authorization: 'Bearer not.a.token', 'x-request-id': 'client-trace:42' })
    expect(refusal.headers['x-request-id']).toBe('client-trace:42')
    expect(expectProblem(refusal, 401).requestId).toBe('client-trace:42')
    const notFound = await refusedUpgrade(url, { 'x-request-id': 'trace-404' }, '/v1/nowhere')
    expect(expectProblem(notFound, 404, 'not_found').requestId).toBe('trace-404')
  })

  it('mints a request id when the client’s is not a sane token', async () => {
    const refusal = await refusedUpgrade(url, { authorization: 'Bearer not.a.token', 'x-request-id': 'spaces are not allowed' })
    expect(expectProblem(refusal, 401).requestId).toMatch(/^req_/)
  })

  it('answers a credential of no known shape as HTTP does: 401 invalid_api_key', async () => {
    const refusal = await refusedUpgrade(url, { authorization: 'Bearer hello-there' })
    expectProblem(refusal, 401, 'invalid_api_key')
    expect(refusal.headers['www-authenticate']).toBe('Bearer realm="parley"')
  })

  it('checks x-tenant-id on the upgrade as HTTP does', async () => {
    const refusal = await refusedUpgrade(url, { authorization: `Bearer ${await world.token('amy')}`, 'x-tenant-id': 'ten_someoneelse' })
    expectProblem(refusal, 401, 'tenant_mismatch')
  })

  it('refuses the admin key with 403: sockets are for end users and secret keys', async () => {
    expectProblem(await refusedUpgrade(url, { authorization: `Bearer ${t.adminKey}` }), 403, 'key_type_not_allowed')
  })

  it('answers an unknown or malformed secret key with 401 invalid_api_key', async () => {
    const wrong = world.key.slice(0, -1) + (world.key.endsWith('A') ? 'B' : 'A')
    expectProblem(await refusedUpgrade(url, { authorization: `Bearer ${wrong}` }), 401, 'invalid_api_key')
  })

  it('answers an Authorization header that is not Bearer with 401 or 400, never a socket', async () => {
    const refusal = await refusedUpgrade(url, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })
    expect([400, 401]).toContain(refusal.status)
    expect(refusal.headers['content-type']).toMatch(/^application\/problem\+json/)
  })

  it('answers an expired token with 401 token_expired and a revoked one with 401 token_revoked', async () => {
    await world.users('amy')
    const now = Math.floor(Date.now() / 1000)
    const expired = await signWithParleyKey(t, claimsFor(t, world.tenant.id, 'amy', { iat: now - 600, exp: now - 120 }))
    expectProblem(await refusedUpgrade(url, { authorization: `Bearer ${expired}` }), 401, 'token_expired')
    const token = await world.token('amy')
    await world.secret('POST', '/v1/users/amy/revoke-tokens')
    expectProblem(await refusedUpgrade(url, { authorization: `Bearer ${token}` }), 401, 'token_revoked')
  })

  it('refuses a secret key without events:read with 403', async () => {
    const res = await world.secret('POST', '/v1/keys', { name: 'no events', type: 'secret', scopes: ['messages:read'] })
    expect(res.status).toBe(201)
    const refusal = await refusedUpgrade(url, { authorization: `Bearer ${res.body.key}` })
    expectProblem(refusal, 403, 'insufficient_scope')
  })

  it('accepts a secret key whose scopes include events:read through a pattern', async () => {
    const res = await world.secret('POST', '/v1/keys', { name: 'all reads', type: 'secret', scopes: ['*:read'] })
    expect(res.status).toBe(201)
    const socket = await connect(url, res.body.key)
    expect(socket.ready.user).toBeNull()
    socket.close()
  })

  it('refuses a publishable key with 403', async () => {
    const res = await world.secret('POST', '/v1/keys', { name: 'widget', type: 'publishable' })
    expect(res.status).toBe(201)
    const refusal = await refusedUpgrade(url, { authorization: `Bearer ${res.body.key}` })
    expectProblem(refusal, 403)
    // …and the first-frame route does not let it in either.
    const socket = await openSocket(url)
    socket.send({ type: 'auth', token: res.body.key })
    expect(await socket.closed()).toBe(4500)
  })

  it('answers an unknown path with 404 even without credentials', async () => {
    expectProblem(await refusedUpgrade(url, {}, '/v1/realtime-nope'), 404, 'not_found')
  })
})

describe('unauthenticated sockets per IP', () => {
  it('refuses the 21st unauthenticated socket from one address with 429, until one authenticates or leaves', async () => {
    const pending: TestSocket[] = []
    for (let i = 0; i < 20; i++) pending.push(await openSocket(url))

    const refusal = await refusedUpgrade(url)
    expectProblem(refusal, 429, 'rate_limited')
    expect(Number(refusal.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    // Authenticated upgrades are not counted against the cap.
    const authenticated = await connect(url, await world.token('ben'))

    // One pending socket authenticates: it no longer counts, so one more may open.
    pending[0]!.send({ type: 'auth', token: await world.token('ben') })
    await pending[0]!.next((f) => f.type === 'ready')
    const replacement = await openSocket(url)
    await expect(refusedUpgrade(url)).resolves.toMatchObject({ status: 429 })

    // One leaves: its place frees up once the server has seen the close.
    pending[1]!.close()
    await pending[1]!.closed()
    await sleep(50)
    const another = await openSocket(url)

    for (const s of [...pending, replacement, another, authenticated]) s.close()
    await waitFor(() => t.parley.services.gateway.openSockets === 0)
    // All released: twenty fresh ones are fine again.
    const fresh: TestSocket[] = []
    await sleep(50)
    for (let i = 0; i < 20; i++) fresh.push(await openSocket(url))
    for (const s of fresh) s.close()
  })
})
