/**
 * A client generated from GET /openapi.json, as the SDKs will generate theirs (SDK.md):
 * openapi-typescript turns the document into types, a few typed calls through openapi-fetch must
 * type-check (and some wrong ones must not), and then they run against the same server.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'
import ts from 'typescript'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type TestParley, type TestTenant, startParley } from './helpers/parley.js'

const ROOT = join(import.meta.dirname, '..', '..', '..')

/** The typed calls: each line is something an SDK author writes against the generated types. */
const CALLS = `
import createClient from 'openapi-fetch'
import type { components, paths } from './parley-api.js'

type ErrorCode = components['schemas']['ErrorCode']

export async function run(baseUrl: string, secretKey: string) {
  const parley = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${secretKey}\` } })

  const upserted = await parley.POST('/v1/users', { body: { id: 'carol', displayName: 'Carol' } })
  const user: components['schemas']['User'] | undefined = upserted.data
  const conversation = await parley.POST('/v1/conversations', { body: { type: 'group', name: 'Typed', members: ['carol'] } })
  const id: string = conversation.data!.id
  const sent = await parley.POST('/v1/conversations/{id}/messages', { params: { path: { id } }, body: { text: 'hello', senderId: 'carol' } })
  const seq: number = sent.data!.seq
  // limit is optional: the server's default applies.
  const history = await parley.GET('/v1/conversations/{id}/messages', { params: { path: { id }, query: { after: 0 } } })
  const keys = await parley.GET('/v1/keys')
  const missing = await parley.GET('/v1/keys/{id}', { params: { path: { id: 'key_missing' } } })
  const code: ErrorCode | undefined = missing.error?.code

  void (() => parley.POST('/v1/keys', { body: { name: 'x', type: 'publishable' } }))
  // @ts-expect-error a key is secret or publishable
  void (() => parley.POST('/v1/keys', { body: { name: 'x', type: 'admin' } }))
  // @ts-expect-error a key needs a name
  void (() => parley.POST('/v1/keys', { body: { type: 'secret' } }))
  const possible: NonNullable<typeof missing.error>['code'] = 'not_found'
  // @ts-expect-error getting a key never answers plan_limit_reached
  const impossible: NonNullable<typeof missing.error>['code'] = 'plan_limit_reached'
  void [possible, impossible]

  return {
    kind: user?.kind,
    seq,
    texts: history.data?.data.map((message) => message.text),
    keys: keys.data?.data.map((key) => key.type),
    missing: { status: missing.response.status, code },
  }
}
`

let t: TestParley
let tenant: TestTenant
let dir: string
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
  dir = mkdtempSync(join(tmpdir(), 'parley-openapi-client-'))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
})
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await t?.close()
})

it('generates types that type-check typed calls, and the calls work against the server', async () => {
  const doc = (await t.call('GET', '/openapi.json')).body
  writeFileSync(join(dir, 'parley-api.ts'), astToString(await openapiTS(doc)))
  writeFileSync(join(dir, 'calls.ts'), CALLS)

  const program = ts.createProgram([join(dir, 'calls.ts')], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    skipLibCheck: true,
  })
  const diagnostics = ts.getPreEmitDiagnostics(program)
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' }
  expect(ts.formatDiagnostics(diagnostics, host)).toBe('')

  const compiled = ts.transpileModule(CALLS, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
  writeFileSync(join(dir, 'calls.mjs'), compiled)
  const url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
  const { run } = (await import(pathToFileURL(join(dir, 'calls.mjs')).href)) as { run: (url: string, key: string) => Promise<unknown> }
  expect(await run(url, tenant.liveKey)).toEqual({
    kind: 'user',
    seq: 1,
    texts: ['hello'],
    keys: ['secret'],
    missing: { status: 404, code: 'not_found' },
  })
})
