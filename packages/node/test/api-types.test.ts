/**
 * The committed packages/protocol/src/api.ts is what the current server's OpenAPI document renders to, so
 * the SDK's types cannot drift from the routes (run `npm run generate --workspace @parley/protocol`).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type TestParley, startParley } from '../../server/test/helpers/parley.js'
// @ts-expect-error a plain .mjs script, shared with the generator, without declarations
import { PUBLIC_URL, render } from '../../protocol/scripts/openapi-types.mjs'

let t: TestParley
beforeAll(async () => void (t = await startParley({ env: { PARLEY_PUBLIC_URL: PUBLIC_URL } })))
afterAll(() => t?.close())

it('packages/protocol/src/api.ts is up to date with GET /openapi.json', async () => {
  const document = (await t.call('GET', '/openapi.json')).body
  const committed = readFileSync(join(import.meta.dirname, '..', '..', 'protocol', 'src', 'api.ts'), 'utf8')
  // A plain equality: on failure the diff shows what changed, and the fix is `npm run generate --workspace @parley/protocol`.
  expect(committed).toBe(await render(document))
})
