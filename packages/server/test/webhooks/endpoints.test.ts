/** The /v1/webhooks endpoints: create, read, change, delete, the catalogue, and every bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EVENT_TYPES } from '../../src/webhooks/event-types.js'
import { MAX_ENDPOINTS } from '../../src/webhooks/service.js'
import { expectProblem } from '../helpers/keys.js'
import { type TestParley, type TestTenant, startParley } from '../helpers/parley.js'

let t: TestParley
let tenant: TestTenant
// No PARLEY_WEBHOOK_ALLOW_PRIVATE: the address rules apply. Hosts under .invalid never resolve.
const URL_A = 'https://hooks.example.invalid/parley'

beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
})
afterAll(() => t.close())

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, key = tenant.liveKey) => t.call(method, url, { auth: key, body })

describe('endpoints', () => {
  it('creates one with its secret shown once, then reads, lists, changes and deletes it', async () => {
    const created = await call('POST', '/v1/webhooks', { url: URL_A, events: ['message.created', 'member.added'], description: 'CRM sync' })
    expect(created.status, created.text).toBe(201)
    expect(created.body).toEqual({
      id: expect.stringMatching(/^whk_/),
      url: URL_A,
      description: 'CRM sync',
      events: ['message.created', 'member.added'],
      enabled: true,
      disabledReason: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_/),
    })
    const { id } = created.body
    const got = await call('GET', `/v1/webhooks/${id}`)
    expect(got.body).toEqual({ ...created.body, secret: undefined })
    expect('secret' in got.body).toBe(false)
    expect((await call('GET', '/v1/webhooks')).body.data.map((e: { id: string }) => e.id)).toContain(id)

    const patched = await call('PATCH', `/v1/webhooks/${id}`, { events: ['*'], description: null, url: 'https://other.example.invalid/x' })
    expect(patched.body).toMatchObject({ events: ['*'], description: null, url: 'https://other.example.invalid/x' })
    const disabled = await call('PATCH', `/v1/webhooks/${id}`, { enabled: false })
    expect(disabled.body).toMatchObject({ enabled: false, disabledReason: null })

    expect((await call('DELETE', `/v1/webhooks/${id}`)).status).toBe(204)
    expectProblem(await call('GET', `/v1/webhooks/${id}`), 404, 'not_found')
    expectProblem(await call('DELETE', `/v1/webhooks/${id}`), 404, 'not_found')
  })

  it('keeps each environment to itself', async () => {
    const created = await call('POST', '/v1/webhooks', { url: URL_A, events: ['*'] }, tenant.testKey)
    expectProblem(await call('GET', `/v1/webhooks/${created.body.id}`), 404, 'not_found')
    expect((await call('GET', '/v1/webhooks')).body.data.map((e: { id: string }) => e.id)).not.toContain(created.body.id)
    const other = await t.createTenant()
    expectProblem(await call('PATCH', `/v1/webhooks/${created.body.id}`, { enabled: false }, other.testKey), 404, 'not_found')
  })

  it('pages the list', async () => {
    const owner = await t.createTenant()
    for (let i = 0; i < 3; i++) await call('POST', '/v1/webhooks', { url: `${URL_A}/${i}`, events: ['*'] }, owner.liveKey)
    const first = await call('GET', '/v1/webhooks?limit=2', undefined, owner.liveKey)
    expect(first.body.data).toHaveLength(2)
    const second = await call('GET', `/v1/webhooks?limit=2&cursor=${first.body.nextCursor}`, undefined, owner.liveKey)
    expect(second.body).toMatchObject({ data: [expect.any(Object)], nextCursor: null })
    expectProblem(await call('GET', '/v1/webhooks?cursor=bogus', undefined, owner.liveKey), 400, 'validation_failed')
  })

  it(`allows ${MAX_ENDPOINTS} endpoints per environment`, async () => {
    const owner = await t.createTenant()
    for (let i = 0; i < MAX_ENDPOINTS; i++) expect((await call('POST', '/v1/webhooks', { url: URL_A, events: ['*'] }, owner.liveKey)).status).toBe(201)
    expectProblem(await call('POST', '/v1/webhooks', { url: URL_A, events: ['*'] }, owner.liveKey), 403, 'plan_limit_reached')
    expect((await call('POST', '/v1/webhooks', { url: URL_A, events: ['*'] }, owner.testKey)).status).toBe(201)
  })

  it('lists the event catalogue', async () => {
    const res = await call('GET', '/v1/webhooks/event-types')
    expect(res.status).toBe(200)
    const types = res.body.data.map((e: { type: string }) => e.type)
    for (const type of ['message.created', 'conversation.deleted', 'read.updated', 'user.created', 'user.deleted', 'key.rolled', 'key.alert', 'webhook.test']) {
      expect(types).toContain(type)
    }
    expect(types).not.toContain('typing')
    expect(res.body.data).toHaveLength(EVENT_TYPES.length)
    expect(res.body.data.every((e: { description: string }) => e.description.length > 10)).toBe(true)
  })
})

describe('bad input', () => {
  const cases: [string, unknown, string][] = [
    ['a private address', { url: 'http://10.0.0.1/hook', events: ['*'] }, 'url'],
    ['a metadata address in hex', { url: 'http://0xa9.0xfe.0xa9.0xfe/', events: ['*'] }, 'url'],
    ['loopback as a name', { url: 'http://localhost:8080/', events: ['*'] }, 'url'],
    ['another scheme', { url: 'ftp://example.com/', events: ['*'] }, 'url'],
    ['no URL at all', { url: 'not a url', events: ['*'] }, 'url'],
    ['an unknown event type', { url: URL_A, events: ['message.created', 'message.exploded'] }, 'events[1]'],
    ['typing, which is never stored', { url: URL_A, events: ['typing'] }, 'events[0]'],
    ['no events', { url: URL_A, events: [] }, 'events'],
    ['an unknown field', { url: URL_A, events: ['*'], secret: 'whsec_mine' }, 'secret'],
  ]
  it.each(cases)('refuses %s with 400 naming the parameter', async (_name, body, param) => {
    const res = await call('POST', '/v1/webhooks', body)
    expectProblem(res, 400, 'validation_failed')
    expect(JSON.stringify(res.body.errors ?? res.body.detail)).toContain(param.replace(/\[\d\]/, ''))
  })

  it('checks a new URL on PATCH too', async () => {
    const { body } = await call('POST', '/v1/webhooks', { url: URL_A, events: ['*'] })
    expectProblem(await call('PATCH', `/v1/webhooks/${body.id}`, { url: 'http://[::ffff:192.168.0.1]/' }), 400, 'validation_failed')
  })

  it('refuses recover further back than 14 days, rotation overlaps beyond 7 days, and bad log filters', async () => {
    const { body } = await call('POST', '/v1/webhooks', { url: URL_A, events: ['*'] })
    expectProblem(await call('POST', `/v1/webhooks/${body.id}/recover`, { since: new Date(Date.now() - 15 * 86_400_000).toISOString() }), 400, 'validation_failed')
    expectProblem(await call('POST', `/v1/webhooks/${body.id}/recover`, { since: 'yesterday' }), 400, 'validation_failed')
    expectProblem(await call('POST', `/v1/webhooks/${body.id}/rotate-secret`, { overlapSeconds: 604_801 }), 400, 'validation_failed')
    expectProblem(await call('GET', `/v1/webhooks/${body.id}/deliveries?status=lost`), 400, 'validation_failed')
    expect((await call('POST', `/v1/webhooks/${body.id}/recover`, { since: new Date(Date.now() - 86_400_000).toISOString() })).body).toEqual({ count: 0 })
  })
})
