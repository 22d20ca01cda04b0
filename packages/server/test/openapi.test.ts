/**
 * GET /openapi.json as a client generator reads it (API.md §0.1, SDK.md): a valid OpenAPI 3.1
 * document (checked by a real validator), every operation with a stable id, a summary, its
 * credentials as its route's auth policy says, every error it answers as problem+json with `code`
 * from the closed list, shared schemas in `components`, optional query parameters, examples that
 * match their schemas; and the /docs page that shows it. A route the document cannot describe is
 * refused at startup.
 */
import { readFileSync } from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../src/core/errors.js'
import { registerOpenApi } from '../src/openapi/openapi.js'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'

interface Operation {
  operationId: string
  summary: string
  tags: string[]
  security?: Record<string, string[]>[]
  parameters?: { name: string; in: string; required: boolean; schema: { default?: unknown } }[]
  requestBody?: { required: boolean; content: Record<string, { schema: unknown; example?: unknown }> }
  responses: Record<string, { description: string; content?: Record<string, { schema: any; example?: unknown }> }>
}

const PACKAGE = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

let t: TestParley
let tenant: TestTenant
let doc: any
/** Every operation, with where it lives. */
let operations: { method: string; path: string; op: Operation }[]
const byId = (id: string) => operations.find(({ op }) => op.operationId === id)!.op

beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
  doc = (await t.call('GET', '/openapi.json')).body
  operations = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, op })),
  )
})
afterAll(() => t.close())

it('is a valid OpenAPI 3.1 document, versioned as the package', async () => {
  const validator = new Validator()
  const result = await validator.validate(structuredClone(doc))
  expect(result.errors ?? []).toEqual([])
  expect(result.valid).toBe(true)
  expect(validator.version).toBe('3.1')
  expect(doc.info.version).toBe(PACKAGE.version)
})

describe('operations', () => {
  it('each has a unique resource.action id, a summary and a tag', () => {
    expect(operations.length).toBeGreaterThan(40)
    for (const { method, path, op } of operations) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]*(\.[a-z][A-Za-z]*)+$/)
      expect(op.summary, op.operationId).toMatch(/\S/)
      expect(op.tags?.length, op.operationId).toBe(1)
    }
    const ids = operations.map(({ op }) => op.operationId)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('keeps the ids SDKs are generated with', () => {
    const where = (id: string) => operations.filter(({ op }) => op.operationId === id).map(({ method, path }) => `${method.toUpperCase()} ${path}`)
    expect(where('keys.create')).toEqual(['POST /v1/keys'])
    expect(where('conversations.messages.list')).toEqual(['GET /v1/conversations/{id}/messages'])
    expect(where('conversations.messages.send')).toEqual(['POST /v1/conversations/{id}/messages'])
    expect(where('users.upsert')).toEqual(['POST /v1/users'])
    expect(where('tokens.create')).toEqual(['POST /v1/auth/token'])
    expect(where('admin.tenants.create')).toEqual(['POST /v1/admin/tenants'])
  })

  it('leaves optional query parameters optional, limit included', () => {
    const query = operations.flatMap(({ op }) => (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ ...p, id: op.operationId })))
    expect(query.filter((p) => p.name === 'limit').length).toBeGreaterThan(4)
    for (const parameter of query) expect(parameter.required, `${parameter.id} ${parameter.name}`).toBe(false)
  })

  it('makes a body optional only when none of its fields is required', () => {
    expect(byId('keys.create').requestBody!.required).toBe(true)
    expect(byId('keys.roll').requestBody!.required).toBe(false)
    expect(byId('identity.init').requestBody!.required).toBe(false)
  })
})

describe('credentials', () => {
  it('are declared per operation, with the scope a key or token needs, and none globally', () => {
    expect(doc.security).toBeUndefined()
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'adminKey',
      'codeHostKeyIdentifier',
      'codeHostSignature',
      'dashboardSession',
      'publishableKey',
      'secretKey',
      'secretKeyHeader',
      'sessionToken',
    ])
    for (const { op } of operations) expect(op.security?.length, op.operationId).toBeGreaterThan(0)
    expect(byId('keys.create').security).toEqual([{ secretKey: ['keys:write'] }, { secretKeyHeader: ['keys:write'] }, { adminKey: [] }])
    expect(byId('conversations.list').security).toEqual([
      { secretKey: ['conversations:read'] },
      { secretKeyHeader: ['conversations:read'] },
      { adminKey: [] },
      { sessionToken: ['conversations:read'] },
    ])
    expect(byId('admin.tenants.list').security).toEqual([{ adminKey: [] }])
    expect(byId('identity.me').security).toEqual([{ sessionToken: [] }])
    expect(byId('me.get').security).toEqual([{ secretKey: [] }, { secretKeyHeader: [] }, { adminKey: [] }, { sessionToken: [] }])
  })

  it('take a publishable key in the header, and in the body where the route reads it there', () => {
    expect(byId('identity.init').security).toEqual([{ publishableKey: [] }, {}])
    expect(byId('tenant.get').security).toEqual([{ publishableKey: [] }])
  })

  it('take a code host’s signature, both headers together, where a leak report is signed instead', () => {
    expect(byId('security.leakedKeys.report').security).toEqual([{ codeHostKeyIdentifier: [], codeHostSignature: [] }])
    expect(doc.components.securitySchemes.codeHostSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'Github-Public-Key-Signature' })
    expect(byId('admin.leakedKeys.report').security).toEqual([{ adminKey: [] }])
  })
})

describe('errors', () => {
  const problemsOf = (op: Operation) =>
    Object.entries(op.responses)
      .filter(([status]) => Number(status) >= 400)
      .map(([status, response]) => ({ status: Number(status), media: response.content!['application/problem+json']! }))

  it('are problem+json, with code an enum of the closed list, each code under its status', () => {
    expect(doc.components.schemas.ErrorCode.enum).toEqual(Object.keys(ERROR_CODES))
    expect(doc.components.schemas.Problem.properties.code).toEqual({ $ref: '#/components/schemas/ErrorCode' })
    for (const { op } of operations) {
      const problems = problemsOf(op)
      expect(problems.map((p) => p.status), op.operationId).toContain(500)
      for (const { status, media } of problems) {
        expect(media.schema.allOf, op.operationId).toEqual([{ $ref: '#/components/schemas/Problem' }])
        for (const code of media.schema.properties.code.enum) expect(ERROR_CODES[code as keyof typeof ERROR_CODES].status, `${op.operationId} ${code}`).toBe(status)
      }
    }
  })

  /** The codes the document declares for an operation. */
  const declared = (id: string) => problemsOf(byId(id)).flatMap(({ media }) => media.schema.properties.code.enum as string[])

  it('list what the server really answers', async () => {
    const auth = tenant.liveKey
    const answers: [string, { status: number; body: { code: string } }][] = [
      ['tokens.create', await t.call('POST', '/v1/auth/token', { auth, body: { userId: 'nobody' } })],
      ['keys.create', await t.call('POST', '/v1/keys', { auth, body: { name: 'k', type: 'admin' } })],
      ['keys.get', await t.call('GET', '/v1/keys/key_missing', { auth })],
      ['keys.list', await t.call('GET', '/v1/keys', { auth: `${auth}x` })],
      ['keys.list', await t.call('GET', '/v1/keys', { auth, headers: { 'x-tenant-id': 'ten_other' } })],
      ['admin.tenants.list', await t.call('GET', '/v1/admin/tenants', { auth })],
      ['identity.me', await t.call('GET', '/v1/identity/me', { auth })],
      ['conversations.create', await t.call('POST', '/v1/conversations', { auth, body: { type: 'group', members: ['ghost'] } })],
      ['users.upsert', await t.call('POST', '/v1/users', { auth, headers: { 'content-type': 'text/plain' }, body: 'hi' })],
    ]
    // A free tenant holds 3 active keys per environment, its default key included.
    const free = (await t.createTenant('free')).liveKey
    for (let i = 0; i < 2; i++) expect((await t.call('POST', '/v1/keys', { auth: free, body: { name: `k${i}`, type: 'secret' } })).status).toBe(201)
    answers.push(['keys.create', await t.call('POST', '/v1/keys', { auth: free, body: { name: 'one too many', type: 'secret' } })])
    for (const [id, answer] of answers) {
      expect(answer.status, id).toBeGreaterThanOrEqual(400)
      expect(declared(id), `${id} answered ${answer.body.code}`).toContain(answer.body.code)
    }
    expect(answers.map(([, answer]) => answer.body.code)).toContain('plan_limit_reached')
  })

  it('list the codes a route declares, and only the auth codes its policy allows', () => {
    expect(declared('conversations.create')).toEqual(expect.arrayContaining(['user_not_found', 'conflict', 'insufficient_scope']))
    expect(declared('identity.init')).toContain('origin_not_allowed')
    expect(declared('keys.create')).not.toContain('origin_not_allowed')
    expect(declared('me.get')).not.toContain('insufficient_scope')
    expect(declared('me.get')).not.toContain('payload_too_large')
    // A signed route answers its own 401 and none of the credential checks'.
    expect(declared('security.leakedKeys.report')).toEqual(expect.arrayContaining(['invalid_signature', 'not_found', 'rate_limited', 'validation_failed', 'unavailable']))
    expect(declared('security.leakedKeys.report')).not.toContain('invalid_api_key')
    expect(declared('admin.leakedKeys.report')).not.toContain('invalid_signature')
  })
})

describe('schemas', () => {
  const NAMED = ['Key', 'KeyWithSecret', 'KeyPage', 'User', 'UserPage', 'Conversation', 'ConversationSummaryPage', 'Member', 'Message', 'MessageHistory', 'Tenant', 'Problem', 'ErrorCode']

  it('shared ones live in components and operations refer to them', () => {
    for (const name of NAMED) expect(doc.components.schemas, name).toHaveProperty(name)
    const json = (id: string, status: string) => byId(id).responses[status]!.content!['application/json']!.schema
    expect(json('keys.get', '200')).toEqual({ $ref: '#/components/schemas/Key' })
    expect(json('keys.list', '200')).toEqual({ $ref: '#/components/schemas/KeyPage' })
    expect(json('conversations.messages.send', '201')).toEqual({ $ref: '#/components/schemas/Message' })
    expect(doc.components.schemas.KeyPage.properties.data.items).toEqual({ $ref: '#/components/schemas/Key' })
  })

  it('are never copied inline where a component exists', () => {
    const shapes = new Map(
      Object.entries(doc.components.schemas as Record<string, { properties?: object }>)
        .filter(([, schema]) => schema.properties)
        .map(([name, schema]) => [Object.keys(schema.properties!).sort().join(','), name]),
    )
    const copies: string[] = []
    const walk = (value: unknown, where: string) => {
      if (typeof value !== 'object' || value === null) return
      const properties = (value as { properties?: object }).properties
      const same = properties && typeof properties === 'object' ? shapes.get(Object.keys(properties).sort().join(',')) : undefined
      if (same && !where.includes('requestBody')) copies.push(`${where} copies ${same}`)
      for (const [key, child] of Object.entries(value)) if (key !== 'example') walk(child, `${where}/${key}`)
    }
    walk(doc.paths, '#/paths')
    expect(copies).toEqual([])
  })

  it('show a choice of values as one enum, null included where the value may be null', () => {
    expect(doc.components.schemas.Key.properties.type).toEqual({ type: 'string', enum: ['secret', 'publishable'] })
    const enums: { type?: unknown; enum: unknown[] }[] = []
    const walk = (value: unknown): void => {
      if (typeof value !== 'object' || value === null) return
      if (Array.isArray((value as { enum?: unknown }).enum)) enums.push(value as (typeof enums)[number])
      Object.values(value).forEach(walk)
    }
    walk(doc.components.schemas)
    expect(enums.length).toBeGreaterThan(5)
    for (const schema of enums) if ([schema.type].flat().includes('null')) expect(schema.enum).toContain(null)
  })

  it('every example matches the schema it illustrates', () => {
    type AddFormats = (ajv: Ajv2020) => Ajv2020
    const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as unknown as AddFormats
    const ajv = addFormats(new Ajv2020({ strict: false, validateSchema: false, allErrors: true }))
    ajv.addSchema(doc, 'openapi.json')
    const pointer = (...parts: string[]) => `openapi.json#/${parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`
    let checked = 0
    for (const { method, path, op } of operations) {
      const media = [
        ...Object.entries(op.requestBody?.content ?? {}).map(([type, m]) => ({ m, at: ['paths', path, method, 'requestBody', 'content', type, 'schema'] })),
        ...Object.entries(op.responses).flatMap(([status, r]) =>
          Object.entries(r.content ?? {}).map(([type, m]) => ({ m, at: ['paths', path, method, 'responses', status, 'content', type, 'schema'] })),
        ),
      ]
      for (const { m, at } of media.filter(({ m }) => m.example !== undefined)) {
        const validate = ajv.compile({ $ref: pointer(...at) })
        expect(validate(m.example), `${op.operationId} ${at.slice(4).join(' ')}: ${JSON.stringify(validate.errors)}`).toBe(true)
        checked++
      }
    }
    // The guides' examples (14 operations) and one problem example per error response.
    expect(checked).toBeGreaterThan(250)
    expect(byId('keys.create').requestBody!.content['application/json']!.example).toMatchObject({ name: 'Reporting job', type: 'secret' })
  })
})

it('/docs shows each operation with its id, credentials and error codes', async () => {
  const page = await t.call('GET', '/docs')
  expect(page.status).toBe(200)
  expect(page.text).toContain('<code class="id">keys.create</code>')
  expect(page.text).toContain('Credentials: secret key with <code>keys:write</code> · admin key acting on a tenant')
  expect(page.text).toContain('Credentials: a code host’s signature (<code>Github-Public-Key-Identifier</code>, <code>Github-Public-Key-Signature</code>)')
  expect(page.text).toContain('publishable key in the <code>apiKey</code> body field')
  expect(page.text).toContain('session token (user or visitor) with <code>conversations:read</code>')
  expect(page.text).toContain('<a href="/docs/errors#plan_limit_reached">plan_limit_reached</a>')
})

it('refuses to start with a /v1 route the document cannot describe', async () => {
  const app = Fastify()
  await registerOpenApi(app, 'http://parley.test')
  const undocumented = () => app.get('/v1/undocumented', { config: { auth: { callers: ['secret'] } }, schema: { tags: ['X'], summary: 'No id' } }, async () => ({}))
  expect(undocumented).toThrow(/GET \/v1\/undocumented has no schema\.operationId/)
  const unguarded = () => app.get('/v1/unguarded', { schema: { tags: ['X'], summary: 'No auth', operationId: 'x.get' } }, async () => ({}))
  expect(unguarded).toThrow(/has no config\.auth/)
  await app.close()
})
