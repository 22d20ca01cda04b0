/**
 * Errors that say what to do: a wrong choice names the allowed values once (not one line per value
 * and an anyOf), a wrong credential names the credential the endpoint needs, and the string formats
 * (`email`, `uri`) accept what ajv-formats accepted before it was dropped.
 */
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'
import { expectProblem } from './helpers/problems.js'

let t: TestParley
let tenant: TestTenant
let token: string
let publishableKey: string
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant('starter')
  await t.call('POST', '/v1/users', { auth: tenant.liveKey, body: { id: 'alice' } })
  token = (await t.call('POST', '/v1/auth/token', { auth: tenant.liveKey, body: { userId: 'alice' } })).body.token
  publishableKey = (await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'site', type: 'publishable' } })).body.key
})
afterAll(() => t.close())

describe('a value outside a choice', () => {
  it('is one error naming the allowed values, in a body', async () => {
    const body = expectProblem(await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'k', type: 'public' } }), 400, 'validation_failed')
    expect(body.errors).toEqual([{ param: 'type', message: 'must be one of: secret, publishable' }])
  })

  it('is one error naming the allowed values, in a query', async () => {
    const body = expectProblem(await t.call('GET', '/v1/usage?granularity=week', { auth: tenant.liveKey }), 400, 'validation_failed')
    expect(body.errors).toEqual([{ param: 'granularity', message: 'must be one of: hour, day' }])
  })

  it('still accepts every allowed value', async () => {
    for (const granularity of ['hour', 'day']) expect((await t.call('GET', `/v1/usage?granularity=${granularity}`, { auth: tenant.liveKey })).status).toBe(200)
    const group = await t.call('POST', '/v1/conversations', { auth: tenant.liveKey, body: { type: 'group', members: ['alice'] } })
    expect(group.status).toBe(201)
  })
})

describe('a credential the endpoint does not take', () => {
  const cases: [string, string, () => Record<string, string>, number, string, string][] = [
    ['a session token on a tenant endpoint', '/v1/keys', () => ({ authorization: `Bearer ${token}` }), 403, 'forbidden', 'This endpoint needs a secret key, not a session token'],
    ['a secret key on a visitor endpoint', '/v1/tenant', () => ({ authorization: `Bearer ${tenant.liveKey}` }), 403, 'key_type_not_allowed', 'This endpoint needs a publishable key, not a secret key'],
    ['a publishable key on a chat endpoint', '/v1/conversations', () => ({ 'x-api-key': publishableKey }), 403, 'key_type_not_allowed', 'This endpoint needs a secret key or a session token, not a publishable key'],
    ['a secret key on a session endpoint', '/v1/identity/me', () => ({ authorization: `Bearer ${tenant.liveKey}` }), 403, 'key_type_not_allowed', 'This endpoint needs a session token, not a secret key'],
    ['a secret key on an operator endpoint', '/v1/admin/tenants', () => ({ authorization: `Bearer ${tenant.liveKey}` }), 403, 'forbidden', 'This endpoint needs the admin key, not a secret key'],
    ['the admin key on a session endpoint', '/v1/me/unread', () => ({ authorization: `Bearer ${t.adminKey}` }), 403, 'key_type_not_allowed', 'This endpoint needs a session token, not the admin key'],
  ]
  for (const [name, url, headers, status, code, detail] of cases) {
    it(`names what it needs: ${name}`, async () => {
      expect(expectProblem(await t.call('GET', url, { headers: headers() }), status, code).detail).toBe(detail)
    })
  }
})

describe('string formats', () => {
  // ajv-formats (a devDependency now) is the reference the server's own formats replace.
  type AddFormats = (ajv: Ajv) => Ajv
  const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as unknown as AddFormats
  const reference = addFormats(new Ajv())
  const before = (format: string) => reference.compile({ type: 'string', format })

  const avatar = (avatarUrl: string) => t.call('PATCH', '/v1/users/alice', { auth: tenant.liveKey, body: { avatarUrl } })
  const visitor = (email: string) => t.call('POST', '/v1/identity/init', { headers: { 'x-api-key': publishableKey }, body: { profile: { email } } })
  const accepted = (status: number) => status < 300

  const URIS = [
    'https://cdn.example.com/avatars/alice.png',
    'http://localhost:8080/a?size=64&fit=crop#top',
    'https://user:pass@example.com:8443/a%20b/c',
    'http://127.0.0.1/x.png',
    'http://[::1]:3000/x',
    'mailto:alice@example.com',
    'urn:isbn:0451450523',
    'data:image/png;base64,iVBORw0KGgo=',
    'ftp://files.example.com/',
    '/relative/path.png',
    'cdn.example.com/alice.png',
    'https://exa mple.com/',
    'https://example.com/a b',
    'https://bücher.example/',
    'https://example.com/<script>',
    'http://example.com/%zz',
    '',
  ]
  const EMAILS = [
    'alice@example.com',
    'first.last+tag@sub.example.co.uk',
    "o'hara@example.ie",
    'alice@localhost',
    'alice@@example.com',
    'alice@example..com',
    '.alice@example.com',
    'alice@-example.com',
    'alice example@example.com',
    'ålice@example.com',
    'alice',
    '',
  ]

  it('uri accepts exactly what ajv-formats accepted, on realistic and generated URLs', async () => {
    const check = before('uri')
    for (const url of URIS) expect(accepted((await avatar(url)).status), url).toBe(check(url))
    const generated = fc.sample(fc.webUrl({ withQueryParameters: true, withFragments: true }), { numRuns: 40, seed: 17 })
    for (const url of generated) expect(accepted((await avatar(url)).status), url).toBe(check(url))
  })

  it('email accepts exactly what ajv-formats accepted, on realistic and generated addresses', async () => {
    const check = before('email')
    for (const email of EMAILS) expect(accepted((await visitor(email)).status), email).toBe(check(email))
    const generated = fc.sample(fc.emailAddress(), { numRuns: 40, seed: 17 })
    for (const email of generated.filter((e) => e.length <= 320)) expect(accepted((await visitor(email)).status), email).toBe(check(email))
  })
})
