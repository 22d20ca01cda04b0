/**
 * key.leaked reaches tenants where their other key events go (API.md §7, §11): webhook endpoints
 * subscribed to it, and secret-key sockets with events:read; and GET /v1/webhooks/event-types
 * lists it. On every engine: the webhook fan-out reads the stored outbox.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES } from '../helpers/databases.js'
import { TEST_CODE_HOST_KEY, leakReportEnv, reported, signedHeaders } from '../helpers/leak-reports.js'
import { type TestParley, type TestTenant, startParley } from '../helpers/parley.js'
import { connect, eventsOf, waitFor } from '../helpers/realtime.js'
import { type Receiver, startReceiver } from '../webhooks/receiver.js'

describe.each(ENGINES)('key.leaked on %s', (engine) => {
  let t: TestParley
  let tenant: TestTenant
  let url: string
  const receivers: Receiver[] = []

  beforeAll(async () => {
    t = await startParley({ engine, env: { ...leakReportEnv(), PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true' } })
    tenant = await t.createTenant()
    url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(() => t.close())
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close()
  })

  const report = (token: string) => {
    const text = JSON.stringify([reported(token, 'https://github.com/acme/app/commit/abc', 'commit')])
    return t.call('POST', '/v1/security/leaked-keys', { headers: signedHeaders(text, TEST_CODE_HOST_KEY), body: text })
  }

  it('is delivered to webhook endpoints subscribed to it and heard on secret-key sockets', async () => {
    const receiver = await startReceiver()
    receivers.push(receiver)
    const endpoint = await t.call('POST', '/v1/webhooks', { auth: tenant.liveKey, body: { url: receiver.url, events: ['key.leaked'] } })
    expect(endpoint.status, endpoint.text).toBe(201)
    const socket = await connect(url, tenant.liveKey)

    const leaked = (await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'leaky', type: 'secret' } })).body
    expect((await report(leaked.key)).body[0].label).toBe('true_positive')
    const data = { keyId: leaked.id, environment: 'live', url: 'https://github.com/acme/app/commit/abc', source: 'commit' }

    await receiver.waitFor(1)
    expect(receiver.received[0]!.body).toMatchObject({ type: 'key.leaked', tenantId: tenant.id, environment: 'live', data })
    await waitFor(() => eventsOf(socket, 'key.leaked').length === 1, 3000, 'key.leaked on the socket')
    expect(eventsOf(socket, 'key.leaked')[0]).toMatchObject({ type: 'event', event: 'key.leaked', data })
    expect(eventsOf(socket, 'key.revoked').map((f) => f.data.id)).toEqual([leaked.id])
    // Only what the endpoint subscribed to: not the key.created and key.revoked around it.
    expect(receiver.received.map((r) => r.body.type)).toEqual(['key.leaked'])
    socket.close()
  })

  it('is in the webhook event catalogue', async () => {
    const types = (await t.call('GET', '/v1/webhooks/event-types', { auth: tenant.liveKey })).body.data
    expect(types).toContainEqual({ type: 'key.leaked', description: expect.stringMatching(/reported found in public/) })
  })
})
