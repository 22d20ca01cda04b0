/**
 * Failures of @parley/node against a real Parley: the error class of each status with its code and
 * request id, no answer at all as ConnectionError, and the retry rules of SDK.md (a 429 retried
 * after a short Retry-After; a 5xx retried only for a request that is safe to repeat).
 */
import { createServer } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { listeningWorld } from '../../server/test/helpers/realtime.js'
import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  Parley,
  ParleyError,
  PermissionError,
  RateLimitError,
  ServerError,
  ValidationError,
} from '../src/index.js'
import { type Proxy, startProxy } from './helpers/proxy.js'

let t: TestParley
let world: ChatWorld
let url: string
let parley: Parley
let proxy: Proxy

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld())
  parley = new Parley({ apiKey: world.key, apiUrl: url })
  await world.users('ann', 'bob')
})
afterAll(() => t?.close())
afterEach(() => proxy?.close())

const REQUEST_ID = /^req_\w+$/

/** What a call threw (the test fails if it resolved). */
async function failure(call: Promise<unknown>): Promise<ParleyError> {
  const error = await call.then(
    () => null,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(ParleyError)
  return error as ParleyError
}

describe('error classes by status', () => {
  it('401 AuthenticationError with the code and request id', async () => {
    const error = await failure(new Parley({ apiKey: 'sk_live_nope', apiUrl: url }).users.list())
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' })
    expect(error.requestId).toMatch(REQUEST_ID)
  })

  it('403 PermissionError naming the missing scope', async () => {
    const { key } = await parley.keys.create({ name: 'reader', type: 'secret', scopes: ['users:read'] })
    const error = await failure(new Parley({ apiKey: key, apiUrl: url }).keys.list())
    expect(error).toBeInstanceOf(PermissionError)
    expect(error).toMatchObject({ status: 403, code: 'insufficient_scope' })
  })

  it('404 NotFoundError, 409 ConflictError, 400 ValidationError with its errors', async () => {
    expect(await failure(parley.users.get('nobody'))).toBeInstanceOf(NotFoundError)
    await parley.conversations.create({ id: 'taken', type: 'group', members: ['ann'] })
    const conflict = await failure(parley.conversations.create({ id: 'taken', type: 'group', members: ['ann'] }))
    expect(conflict).toBeInstanceOf(ConflictError)
    expect(conflict.code).toBe('conflict')
    const invalid = await failure(parley.users.list({ limit: 0 }))
    expect(invalid).toBeInstanceOf(ValidationError)
    expect(invalid.code).toBe('validation_failed')
    expect(invalid.errors?.length).toBeGreaterThan(0)
  })

  it('ConnectionError without a status when nothing listens, and code timeout when nothing answers', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as { port: number }).port
    await new Promise((resolve) => closed.close(resolve))
    const refused = await failure(new Parley({ apiKey: world.key, apiUrl: `http://127.0.0.1:${port}`, maxRetries: 0 }).users.list())
    expect(refused).toBeInstanceOf(ConnectionError)
    expect(refused).toMatchObject({ code: 'connection_failed', status: undefined })

    proxy = await startProxy(url)
    proxy.hang()
    const slow = await failure(new Parley({ apiKey: world.key, apiUrl: proxy.url, timeoutMs: 200, maxRetries: 0 }).users.list())
    expect(slow).toBeInstanceOf(ConnectionError)
    expect(slow.code).toBe('timeout')
  })
})

describe('retries', () => {
  it('retries a 429 after its Retry-After, and throws it at once with maxRetries: 0', async () => {
    const { key } = await parley.keys.create({ name: 'one-per-second', type: 'secret', rateLimit: { limit: 1, windowSeconds: 1 } })
    proxy = await startProxy(url)
    const strict = new Parley({ apiKey: key, apiUrl: proxy.url, maxRetries: 0 })
    // Windows are aligned to the clock: two calls may straddle a boundary, a third cannot also do so.
    const limited = await failure(strict.users.list().then(() => strict.users.list()).then(() => strict.users.list()))
    expect(limited).toBeInstanceOf(RateLimitError)
    expect((limited as RateLimitError).retryAfter).toBeGreaterThanOrEqual(1)

    proxy.seen.length = 0
    const patient = new Parley({ apiKey: key, apiUrl: proxy.url })
    await patient.users.upsert({ id: 'ann' })
    await patient.users.upsert({ id: 'ann' })
    expect(proxy.seen.filter((line) => line.endsWith(' 429')).length).toBeGreaterThanOrEqual(1)
    expect(proxy.seen.at(-1)).toMatch(/ 200$/)
  })

  it('throws a 429 whose Retry-After is over 10 s at once', async () => {
    // A day's window (aligned to the clock) leaves far more than 10 s to wait, whenever the test runs.
    const { key } = await parley.keys.create({ name: 'one-per-day', type: 'secret', rateLimit: { limit: 1, windowSeconds: 86_400 } })
    proxy = await startProxy(url)
    const slow = new Parley({ apiKey: key, apiUrl: proxy.url })
    await slow.users.list()
    const error = await failure(slow.users.list())
    expect(error).toBeInstanceOf(RateLimitError)
    expect(proxy.seen).toHaveLength(2)
  })

  it('retries a 5xx for a safe request (read, upsert, send with clientMessageId)', async () => {
    proxy = await startProxy(url)
    const client = new Parley({ apiKey: world.key, apiUrl: proxy.url })
    proxy.failNext(2)
    expect((await client.users.get('ann')).id).toBe('ann')
    expect(proxy.seen).toEqual(['GET /v1/users/ann 503', 'GET /v1/users/ann 503', 'GET /v1/users/ann 200'])

    const { id } = await parley.conversations.create({ type: 'group', members: ['ann', 'bob'] })
    proxy.seen.length = 0
    proxy.failNext(1)
    await client.messages.send(id, { senderId: 'ann', text: 'once', clientMessageId: 'retry-1' })
    expect(proxy.seen.map((line) => line.split(' ').at(-1))).toEqual(['503', '201'])
  })

  it('does not retry a 5xx for an unsafe request, nor anything with maxRetries: 0', async () => {
    proxy = await startProxy(url)
    const client = new Parley({ apiKey: world.key, apiUrl: proxy.url })
    const { id } = await parley.conversations.create({ type: 'group', members: ['ann', 'bob'] })
    proxy.failNext(1)
    expect(await failure(client.messages.send(id, { senderId: 'ann', text: 'maybe twice' }))).toBeInstanceOf(ServerError)
    expect(proxy.seen).toHaveLength(1)
    expect((await parley.messages.list(id)).data).toHaveLength(0)

    proxy.failNext(1)
    expect(await failure(new Parley({ apiKey: world.key, apiUrl: proxy.url, maxRetries: 0 }).users.get('ann'))).toBeInstanceOf(ServerError)
    expect(proxy.seen).toHaveLength(2)
  })

  it('gives up after 3 attempts', async () => {
    proxy = await startProxy(url)
    proxy.failNext(5)
    const error = await failure(new Parley({ apiKey: world.key, apiUrl: proxy.url }).users.get('ann'))
    expect(error).toMatchObject({ status: 503, code: 'unavailable', requestId: 'req_proxy' })
    expect(proxy.seen).toHaveLength(3)
  })
})
