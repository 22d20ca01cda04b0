/** Shortcuts shared by the key suites (keys.test.ts, keys-rules.test.ts). */
import type { InjectOptions } from 'fastify'
import type { TestParley } from './parley.js'

/** Calls made with a given key; `parley` is read at call time (it is started in beforeAll). */
export function keyCalls(parley: () => TestParley) {
  const call = (key: string, method: InjectOptions['method'], url: string, body?: unknown) => parley().call(method, url, { auth: key, body })
  /** Creates a key with `key` and returns the 201 body (with its plaintext in `.key`). */
  const createKey = async (key: string, body: Record<string, unknown> = {}): Promise<any> => {
    const res = await call(key, 'POST', '/v1/keys', { name: 'k', type: 'secret', ...body })
    if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${res.text}`)
    return res.body
  }
  return { call, createKey }
}

// The key suites get it here with their other shortcuts (from problems.ts).
export { expectProblem } from './problems.js'
