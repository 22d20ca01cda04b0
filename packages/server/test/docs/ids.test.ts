/**
 * The id and credential formats docs/api.md documents (its "Ids" tables) against real ones: each
 * documented pattern must match what a running Parley hands out, and every row must be checked.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestParley, startParley } from '../helpers/parley.js'
import { connect } from '../helpers/realtime.js'
import { decodeParts } from '../helpers/session-helpers.js'

const API_GUIDE = join(import.meta.dirname, '..', '..', '..', '..', 'docs', 'api.md')

/** Rows `| name | \`pattern\` | … |` of the tables in the "Ids" section. */
function documentedPatterns(): Map<string, RegExp> {
  const guide = readFileSync(API_GUIDE, 'utf8')
  const section = guide.slice(guide.indexOf('\n## Ids\n'), guide.indexOf('\n## ', guide.indexOf('\n## Ids\n') + 1))
  const rows = [...section.matchAll(/^\| ([^|]+?) \| `((?:[^`\\]|\\.)+)` \|/gm)]
  // In a table cell a pipe is written \| (GFM).
  return new Map(rows.map(([, name, pattern]) => [name!, new RegExp(`^${pattern!.replaceAll('\\|', '|')}$`)]))
}

describe('documented id formats', () => {
  let t: TestParley
  const real = new Map<string, string[]>()

  beforeAll(async () => {
    // No PARLEY_ADMIN_KEY: Parley generates one, as on a first start.
    t = await startParley({ env: { PARLEY_ADMIN_KEY: '' } })
    const admin = t.parley.adminKey.generated!
    const created = await t.call('POST', '/v1/admin/tenants', { auth: admin, body: { name: 'Ids', plan: 'pro' } })
    const { tenant, keys } = created.body
    const key = keys.test.key as string
    const call = (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, headers: Record<string, string> = {}) =>
      t.call(method, url, { auth: key, body, headers })

    const publishable = await call('POST', '/v1/keys', { name: 'web', type: 'publishable' })
    for (const id of ['alice', 'bob']) await call('POST', '/v1/users', { id })
    const conversation = await call('POST', '/v1/conversations', { type: 'direct', members: ['alice', 'bob'] })
    const message = await call('POST', `/v1/conversations/${conversation.body.id}/messages`, { senderId: 'alice', text: 'hi' })
    const events = await t.parley.store.db.selectFrom('events').select('id').execute()
    const visitor = await t.call('POST', '/v1/identity/init', { headers: { 'x-api-key': publishable.body.key }, body: { visitorId: 'device-1' } })
    const token = (await call('POST', '/v1/auth/token', { userId: 'alice' })).body.token as string
    const rotated = await t.call('POST', '/v1/admin/signing-keys/rotate', { auth: admin })

    // A usage alert: a few failed requests among this key's dozen are over 5 % errors.
    await call('PUT', '/v1/alerts', { errorRate: { percent: 5, minRequests: 1 } })
    for (let i = 0; i < 3; i++) await call('GET', '/v1/keys/key_missing')
    await t.parley.flush()
    const alerts = await call('GET', '/v1/alerts/events')

    const url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
    const socket = await connect(url, token)
    socket.close()

    real.set('tenant', [tenant.id])
    real.set('API key (its `id`)', [keys.live.id, keys.test.id, publishable.body.id])
    real.set('conversation', [conversation.body.id])
    real.set('message', [message.body.id])
    real.set('event', events.map((row) => row.id))
    real.set('usage alert', [alerts.body.data[0].id])
    real.set('visitor', [visitor.body.visitor.id])
    real.set('request', [String(message.headers['x-request-id'])])
    real.set('realtime connection', [socket.ready.connectionId])
    real.set('signing key (`kid`)', [String(decodeParts(token).header.kid), rotated.body.kid])
    real.set('session token `jti`', [String(decodeParts(token).payload.jti)])
    real.set('secret key', [keys.live.key, keys.test.key])
    real.set('publishable key', [publishable.body.key])
    real.set('generated admin key', [admin])
  })
  afterAll(() => t?.close())

  it('documents every id and credential this test generates, and nothing it does not', () => {
    expect([...documentedPatterns().keys()].sort()).toEqual([...real.keys()].sort())
  })

  it('matches every real id with its documented pattern', () => {
    const patterns = documentedPatterns()
    for (const [name, values] of real) {
      expect(values.length, name).toBeGreaterThan(0)
      expect(patterns.has(name), `${name} is documented`).toBe(true)
      for (const value of values) expect(value, name).toMatch(patterns.get(name)!)
    }
  })
})
