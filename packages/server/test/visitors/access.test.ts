/** §4.3 Visitors: what publishable keys and visitors may do, the conversations a visitor creates, origin allow-lists. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestParley, TestTenant } from '../helpers/parley.js'
import { mintToken, upsertUser } from '../helpers/session-helpers.js'
import { createPublishableKey, initVisitor, startVisitorWorld } from './world.js'

let t: TestParley
let tenant: TestTenant
let pk: string
beforeAll(async () => {
  ;({ t, tenant, pk } = await startVisitorWorld())
})
afterAll(() => t.close())

const createPk = (secret: string, extra?: Record<string, unknown>) => createPublishableKey(t, secret, extra)
const init = (body: Record<string, unknown>, headers?: Record<string, string>) => initVisitor(t, body, headers)

describe('what publishable keys and visitors may do', () => {
  it('GET /v1/tenant with a publishable key → { id, name } only', async () => {
    const res = await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': pk } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: tenant.id, name: 'Acme' })
  })

  it('GET /v1/tenant with a secret key → 403 key_type_not_allowed', async () => {
    const res = await t.call('GET', '/v1/tenant', { auth: tenant.liveKey })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('key_type_not_allowed')
  })

  it('a secret key on /v1/identity/init → 403 key_type_not_allowed (header or Authorization)', async () => {
    const variants: Array<Record<string, string>> = [{ 'x-api-key': tenant.liveKey }, { authorization: `Bearer ${tenant.liveKey}` }]
    for (const headers of variants) {
      const res = await init({ visitorId: 'sk-visitor' }, headers)
      expect(res.status).toBe(403)
      expect(res.body.code).toBe('key_type_not_allowed')
      expect(res.body.sessionToken).toBeUndefined()
    }
  })

  it('a secret key in the apiKey body field is never accepted', async () => {
    const res = await init({ apiKey: tenant.liveKey, visitorId: 'sk-body' })
    expect(res.status).toBe(401)
    expect(res.body.sessionToken).toBeUndefined()
  })

  it('a publishable key on any other route → 403 key_type_not_allowed', async () => {
    for (const [method, url] of [
      ['GET', '/v1/me'],
      ['GET', '/v1/users'],
      ['GET', '/v1/keys'],
      ['GET', '/v1/conversations'],
    ] as const) {
      const res = await t.call(method, url, { headers: { 'x-api-key': pk } })
      expect(res.status, url).toBe(403)
      expect(res.body.code, url).toBe('key_type_not_allowed')
    }
  })

  it('a visitor token on tenant-level routes → 403 forbidden', async () => {
    const opened = await init({ apiKey: pk, visitorId: 'nosy' })
    for (const url of ['/v1/users', '/v1/keys']) {
      const res = await t.call('GET', url, { auth: opened.body.sessionToken })
      expect(res.status, url).toBe(403)
      expect(res.body.code, url).toBe('forbidden')
    }
  })

  it('a revoked publishable key → 401 invalid_api_key', async () => {
    const own = await createPk(tenant.liveKey)
    expect((await init({ apiKey: own.key })).status).toBe(201)
    const revoked = await t.call('POST', `/v1/keys/${own.id}/revoke`, { auth: tenant.liveKey })
    expect(revoked.status).toBe(200)
    for (const res of [await init({ apiKey: own.key }), await init({}, { 'x-api-key': own.key }), await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': own.key } })]) {
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('invalid_api_key')
    }
  })

  it('a publishable key with a broken checksum → 401 invalid_api_key', async () => {
    const last = pk.at(-1) === 'A' ? 'B' : 'A'
    const res = await init({ apiKey: `${pk.slice(0, -1)}${last}` })
    expect(res.status).toBe(401)
    expect(res.body.code).toBe('invalid_api_key')
  })
})

describe('conversations a visitor creates (§12)', () => {
  let visitor: { id: string; token: string }
  beforeAll(async () => {
    const opened = await init({ apiKey: pk, visitorId: 'creator' })
    visitor = { id: opened.body.visitor.id, token: opened.body.sessionToken }
    await upsertUser(t, tenant.liveKey, 'agent')
  })
  const create = (body: Record<string, unknown>) => t.call('POST', '/v1/conversations', { auth: visitor.token, body })
  const memberIds = (conversation: any) => conversation.members.map((m: any) => m.userId)

  it.each([[[]], [['self']]])('members %j → 201 with the visitor as its only member, under an id Parley picks', async (members) => {
    const res = await create({ type: 'group', members: members.map((m) => (m === 'self' ? visitor.id : m)) })
    expect(res.status).toBe(201)
    expect(memberIds(res.body)).toEqual([visitor.id])
    expect(res.body.id).toMatch(/^conv_/)
  })

  it('naming an existing or an unknown user gives the same 403 forbidden, and creates nothing', async () => {
    const before = await t.call('GET', '/v1/conversations', { auth: visitor.token })
    const answers = []
    for (const body of [
      { type: 'group', members: ['agent'] },
      { type: 'group', members: ['ghost-user'] },
      { type: 'group', members: [visitor.id, 'agent'] },
      { type: 'group', members: [visitor.id, 'ghost-user'] },
      { type: 'direct', members: ['agent'] },
      { type: 'direct', members: ['ghost-user'] },
    ]) {
      const res = await create(body)
      answers.push({ status: res.status, code: res.body.code, detail: res.body.detail })
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1)
    expect(answers[0]).toMatchObject({ status: 403, code: 'forbidden' })
    const after = await t.call('GET', '/v1/conversations', { auth: visitor.token })
    expect(after.body.data).toEqual(before.body.data)
  })

  it('choosing an id → 403 forbidden, whether that id is free or taken', async () => {
    const taken = await t.call('POST', '/v1/conversations', { auth: tenant.liveKey, body: { id: 'support-taken', type: 'group', members: ['agent'] } })
    expect(taken.status).toBe(201)
    for (const id of ['support-free', 'support-taken']) {
      const res = await create({ id, type: 'group', members: [] })
      expect(res.status, id).toBe(403)
      expect(res.body.code, id).toBe('forbidden')
    }
    expect((await t.call('GET', '/v1/conversations/support-free', { auth: tenant.liveKey })).status).toBe(404)
    const detail = await t.call('GET', '/v1/conversations/support-taken', { auth: tenant.liveKey })
    expect(memberIds(detail.body)).toEqual(['agent'])
  })

  it('the tenant adds an agent with its secret key, and then both talk', async () => {
    const created = await create({ type: 'group', members: [] })
    const id = created.body.id
    const added = await t.call('POST', `/v1/conversations/${id}/members`, { auth: tenant.liveKey, body: { userIds: ['agent'] } })
    expect(added.status).toBe(200)
    expect(memberIds(added.body).sort()).toEqual([visitor.id, 'agent'].sort())
    expect((await t.call('POST', `/v1/conversations/${id}/messages`, { auth: visitor.token, body: { text: 'help please' } })).status).toBe(201)
    const reply = await t.call('POST', `/v1/conversations/${id}/messages`, { auth: tenant.liveKey, body: { text: 'on it', senderId: 'agent' } })
    expect(reply.status).toBe(201)
    const history = await t.call('GET', `/v1/conversations/${id}/messages`, { auth: visitor.token })
    expect(history.body.data.map((m: any) => m.text)).toEqual(['help please', 'on it'])
  })

  it('a user’s session token still names other members and may choose the id', async () => {
    await upsertUser(t, tenant.liveKey, 'customer')
    const { token } = await mintToken(t, tenant.liveKey, 'customer')
    const res = await t.call('POST', '/v1/conversations', { auth: token, body: { id: 'customer-chat', type: 'group', members: ['agent'] } })
    expect(res.status).toBe(201)
    expect(memberIds(res.body).sort()).toEqual(['agent', 'customer'])
  })
})

describe('origin allow-list', () => {
  let restricted: string
  beforeAll(async () => {
    ;({ key: restricted } = await createPk(tenant.liveKey, { allowedOrigins: ['https://app.example.com', 'http://localhost:3000'] }))
  })

  it.each(['https://app.example.com', 'http://localhost:3000'])('exact origin %s passes (init and /v1/tenant)', async (origin) => {
    const res = await init({ apiKey: restricted, visitorId: 'origin-ok' }, { origin })
    expect(res.status).toBe(201)
    const ten = await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': restricted, origin } })
    expect(ten.status).toBe(200)
  })

  it.each([
    ['a lookalike suffix', 'https://app.example.com.evil.test'],
    ['http for an https entry', 'http://app.example.com'],
    ['another port', 'https://app.example.com:8443'],
    ['another port (localhost)', 'http://localhost:3001'],
    ['"null"', 'null'],
    ['a sibling subdomain', 'https://www.example.com'],
    ['a parent domain', 'https://example.com'],
    ['a prefix lookalike', 'https://evilapp.example.com'],
    ['a trailing slash', 'https://app.example.com/'],
    ['an empty Origin', ''],
  ])('%s (%s) → 403 origin_not_allowed', async (_what, origin) => {
    const res = await init({ apiKey: restricted, visitorId: 'origin-bad' }, { origin })
    expect(res.status).toBe(403)
    expect(res.headers['content-type']).toContain('application/problem+json')
    expect(res.body.code).toBe('origin_not_allowed')
    expect(res.body.sessionToken).toBeUndefined()
    const ten = await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': restricted, origin } })
    expect(ten.status).toBe(403)
    expect(ten.body.code).toBe('origin_not_allowed')
  })

  it('no Origin header at all → 403 origin_not_allowed', async () => {
    const res = await init({ apiKey: restricted, visitorId: 'origin-none' })
    expect(res.status).toBe(403)
    expect(res.body.code).toBe('origin_not_allowed')
    const viaHeader = await init({ visitorId: 'origin-none' }, { 'x-api-key': restricted })
    expect(viaHeader.status).toBe(403)
    expect(viaHeader.body.code).toBe('origin_not_allowed')
  })

  it('a key without an allow-list accepts any origin and none', async () => {
    expect((await init({ apiKey: pk }, { origin: 'https://anything.test' })).status).toBe(201)
    expect((await init({ apiKey: pk })).status).toBe(201)
  })
})
