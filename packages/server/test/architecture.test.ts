/**
 * The server's import layering (SERVER_LAYERS in eslint.config.js) is enforced by lint. These
 * cases lint a would-be file in place, so they fail if the rule stops rejecting a cycle.
 */
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const eslint = new ESLint({ cwd: new URL('../../..', import.meta.url).pathname })

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message)
}

describe('import layering', () => {
  it.each([
    ['auth must not depend on a domain', 'packages/server/src/auth/x.ts', "import type { KeyStore } from '../keys/store.js'"],
    ['conversations must not depend on messages (messages builds on conversations)', 'packages/server/src/conversations/x.ts', "import type { MessageStore } from '../messages/store.js'"],
    ['keys must not depend on tenants', 'packages/server/src/keys/x.ts', "import type { TenantStore } from '../tenants/store.js'"],
    ['keys must not depend on leaks (leaks builds on keys)', 'packages/server/src/keys/x.ts', "import type { LeakReportStore } from '../leaks/store.js'"],
    ['core depends on nothing', 'packages/server/src/core/x.ts', "import { isPast } from '../lib/time.js'"],
    ['http must not depend on a domain', 'packages/server/src/http/x.ts', "import type { User } from '../users/model.js'"],
    ['only the composition root reads config.ts', 'packages/server/src/keys/x.ts', "import type { Config } from '../config.js'"],
    ['migrations are storage: no domain imports', 'packages/server/src/storage/migrations/x.ts', "import { newId } from '../../keys/service.js'"],
  ])('%s', async (_name, filePath, code) => {
    expect(await restrictedImports(filePath, `${code}\nexport {}\n`)).toHaveLength(1)
  })

  it.each([
    ['messages builds on conversations', 'packages/server/src/messages/x.ts', "import type { ConversationStore } from '../conversations/store.js'"],
    ['leaks revokes through keys and records alerts', 'packages/server/src/leaks/x.ts', "import type { KeyService } from '../keys/service.js'\nimport type { AlertStore } from '../alerts/store.js'"],
    ['a domain uses the shared vocabulary and the auth layer', 'packages/server/src/users/x.ts', "import type { Caller } from '../core/caller.js'\nimport { hasScope } from '../auth/scopes.js'"],
    ['the composition root imports anything', 'packages/server/src/app.ts', "import type { MessageStore } from './messages/store.js'"],
  ])('allows: %s', async (_name, filePath, code) => {
    expect(await restrictedImports(filePath, `${code}\nexport {}\n`)).toEqual([])
  })
})
