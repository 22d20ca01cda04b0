// Writes src/api.ts (types only, imported as `@parley/protocol/api`) from the OpenAPI document of the built server (packages/server/dist),
// started in process on in-memory SQLite, not listening.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PUBLIC_URL, render } from './openapi-types.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { createParley } = await import('../../server/dist/app.js')
const { loadConfig } = await import('../../server/dist/config.js')
const parley = await createParley(
  loadConfig({ PARLEY_DATABASE_URL: 'sqlite::memory:', PARLEY_ADMIN_KEY: 'generate-types-admin-key-0000000000000', PARLEY_LOG_LEVEL: 'silent', PARLEY_PUBLIC_URL: PUBLIC_URL }),
)
try {
  const answer = await parley.app.inject({ method: 'GET', url: '/openapi.json' })
  writeFileSync(join(root, 'src', 'api.ts'), await render(JSON.parse(answer.body)))
} finally {
  await parley.close()
}
