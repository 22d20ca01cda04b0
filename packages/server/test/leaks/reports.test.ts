/**
 * Leaked-key reports (API.md §11) through a real Parley, on every engine: a signed report revokes
 * the keys it names at once and answers a verdict per token; the report is kept (never the token),
 * an alert event recorded, key.leaked emitted; the same report twice changes nothing; malformed
 * tokens never reach storage; anything unsigned, signed wrongly or changed after signing revokes
 * nothing; the operator reports with the admin key.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { generateKey } from '../../src/auth/key-format.js'
import { ENGINES } from '../helpers/databases.js'
import { TEST_CODE_HOST_KEY, codeHostKey, leakReportEnv, reported, signedHeaders } from '../helpers/leak-reports.js'
import { type TestParley, type TestTenant, capturedLogs, startParley } from '../helpers/parley.js'
import { expectProblem } from '../helpers/problems.js'
import { ISO_TIMESTAMP } from '../helpers/values.js'

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const ROUTE = '/v1/security/leaked-keys'

describe.each(ENGINES)('leak reports on %s', (engine) => {
  let t: TestParley
  let tenant: TestTenant

  beforeAll(async () => {
    t = await startParley({ engine, env: leakReportEnv() })
    tenant = await t.createTenant()
  })
  afterAll(() => t.close())

  const newKey = async (type: 'secret' | 'publishable' = 'secret', auth = tenant.liveKey): Promise<{ id: string; key: string }> => {
    const res = await t.call('POST', '/v1/keys', { auth, body: { name: 'leaky', type } })
    expect(res.status, res.text).toBe(201)
    return res.body
  }
  /** A report signed by the code host over exactly the text sent. */
  const send = (body: unknown, text = JSON.stringify(body)) => t.call('POST', ROUTE, { headers: signedHeaders(text, TEST_CODE_HOST_KEY), body: text })
  const works = async (key: string) => {
    const res = key.startsWith('pk_') ? await t.call('GET', '/v1/tenant', { headers: { 'x-api-key': key } }) : await t.call('GET', '/v1/me', { auth: key })
    if (res.status !== 200) expectProblem(res, 401, 'invalid_api_key')
    return res.status === 200
  }
  const keyOf = async (id: string) => (await t.call('GET', `/v1/keys/${id}`, { auth: tenant.liveKey })).body
  /** Everything a report can change about one key, straight from storage. */
  const traces = async (keyId: string) => {
    const db = t.parley.store.db
    const key = await db.selectFrom('api_keys').select(['revoked_at', 'updated_at']).where('id', '=', keyId).executeTakeFirstOrThrow()
    const reports = await db.selectFrom('leak_reports').selectAll().where('key_id', '=', keyId).orderBy('place').execute()
    const alerts = await db.selectFrom('alert_events').selectAll().where('key_id', '=', keyId).execute()
    const events = (await db.selectFrom('events').select(['id', 'type', 'data']).where('type', 'in', ['key.revoked', 'key.leaked']).orderBy('position').execute()).filter(
      (e) => JSON.parse(e.data).id === keyId || JSON.parse(e.data).keyId === keyId,
    )
    return { key, reports, alerts, events }
  }

  it('revokes a reported key at once, answers true_positive, and shows the report on the key', async () => {
    const leaked = await newKey()
    expect(await works(leaked.key)).toBe(true) // now in this node's cache too
    const res = await send([reported(leaked.key)])
    expect(res.status, res.text).toBe(200)
    expect(res.body).toEqual([{ token_hash: sha256(leaked.key), token_type: 'parley_secret_key', label: 'true_positive' }])
    expect(await works(leaked.key)).toBe(false)

    const shown = await keyOf(leaked.id)
    expect(shown.status).toBe('revoked')
    expect(shown.leakReports).toEqual([{ url: 'https://github.com/acme/app/blob/abc123/.env', source: 'content', reportedAt: expect.stringMatching(ISO_TIMESTAMP) }])
    // Listing stays one query: the reports are on GET /v1/keys/{id} only.
    const listed = (await t.call('GET', '/v1/keys?limit=200', { auth: tenant.liveKey })).body.data.find((k: { id: string }) => k.id === leaked.id)
    expect(listed.status).toBe('revoked')
    expect(listed).not.toHaveProperty('leakReports')
    expect((await keyOf(tenant.liveKeyId)).leakReports).toEqual([])

    const alerts = (await t.call('GET', '/v1/alerts/events', { auth: tenant.liveKey })).body.data
    expect(alerts.filter((a: { keyId: string }) => a.keyId === leaked.id)).toEqual([
      { id: expect.stringMatching(/^evt_/), keyId: leaked.id, rule: 'leaked', details: { url: 'https://github.com/acme/app/blob/abc123/.env', source: 'content' }, createdAt: shown.leakReports[0].reportedAt },
    ])
    const { events } = await traces(leaked.id)
    expect(events.map((e) => e.type)).toEqual(['key.revoked', 'key.leaked'])
    expect(JSON.parse(events[1]!.data)).toEqual({ keyId: leaked.id, environment: 'live', url: 'https://github.com/acme/app/blob/abc123/.env', source: 'content' })
  })

  it('changes nothing when the same report comes again; a new place is kept, without a second event or alert', async () => {
    const leaked = await newKey()
    const body = [reported(leaked.key)]
    const first = await send(body)
    const before = await traces(leaked.id)
    expect(before.events).toHaveLength(2)
    expect(before.alerts).toHaveLength(1)

    const second = await send(body)
    expect(second.body).toEqual(first.body)
    expect(await traces(leaked.id)).toEqual(before)

    const elsewhere = await send([reported(leaked.key, 'https://gist.github.com/someone/1234', 'gist')])
    expect(elsewhere.body[0].label).toBe('true_positive')
    const after = await traces(leaked.id)
    expect(after.reports).toHaveLength(2)
    expect({ ...after, reports: before.reports }).toEqual(before)
    expect((await keyOf(leaked.id)).leakReports.map((r: { source: string }) => r.source)).toEqual(['content', 'gist'])
  })

  it('revokes a key reported twice at once exactly once', async () => {
    const leaked = await newKey()
    const answers = await Promise.all([send([reported(leaked.key)]), send([reported(leaked.key, 'https://example.com/paste', 'paste')])])
    expect(answers.map((a) => a.body[0].label)).toEqual(['true_positive', 'true_positive'])
    const { events, alerts, reports } = await traces(leaked.id)
    expect(events.map((e) => e.type)).toEqual(['key.revoked', 'key.leaked'])
    expect(alerts).toHaveLength(1)
    expect(reports).toHaveLength(2)
  })

  it('answers false_positive for unknown and malformed tokens, and looks up only the well-formed one', async () => {
    const real = (await newKey()).key
    const unknown = generateKey('sk_live_')
    const malformed = [
      real.slice(0, -1) + (real.at(-1) === 'A' ? 'B' : 'A'), // a real key with its checksum broken
      'sk_live_tooShort',
      `pk_test_${'!'.repeat(38)}`,
      `ghp_${'a'.repeat(36)}`,
      'eyJhbGciOiJFUzI1NiJ9.e30.c2ln',
      '',
    ]
    const lookups = vi.spyOn(t.parley.services.keyStore, 'findByHash')
    try {
      const res = await send([...malformed, unknown].map((token) => reported(token)))
      expect(res.status, res.text).toBe(200)
      expect(res.body).toEqual([...malformed, unknown].map((token) => ({ token_hash: sha256(token), token_type: expect.any(String), label: 'false_positive' })))
      expect(lookups.mock.calls).toEqual([[sha256(unknown)]])
    } finally {
      lookups.mockRestore()
    }
    expect(await works(real)).toBe(true)
  })

  it('verifies the body exactly as sent: spacing and key order are part of what is signed', async () => {
    const leaked = await newKey()
    const item = reported(leaked.key)
    const text = `[\n  {"source": "${item.source}", "url": "${item.url}",\n   "type": "${item.type}", "token": "${item.token}"}\n]`
    const res = await send(null, text)
    expect(res.status, res.text).toBe(200)
    expect(res.body[0].label).toBe('true_positive')
    expect(await works(leaked.key)).toBe(false)
  })

  describe('refuses what the code host did not sign, and revokes nothing', () => {
    let leaked: { id: string; key: string }
    let text: string
    let signed: Record<string, string>
    beforeAll(async () => {
      leaked = await newKey()
      text = JSON.stringify([reported(leaked.key)])
      signed = signedHeaders(text, TEST_CODE_HOST_KEY)
    })
    const without = (name: string) => Object.fromEntries(Object.entries(signed).filter(([header]) => header !== name))

    it.each([
      ['no signature headers', () => ({ headers: { 'content-type': 'application/json' } })],
      ['no key identifier', () => ({ headers: without('github-public-key-identifier') })],
      ['no signature', () => ({ headers: without('github-public-key-signature') })],
      ['an empty signature', () => ({ headers: { ...signed, 'github-public-key-signature': '' } })],
      ['a signature by another key under the trusted identifier', () => ({ headers: signedHeaders(text, codeHostKey(TEST_CODE_HOST_KEY.identifier)) })],
      ['an identifier no trusted key has', () => ({ headers: { ...signed, 'github-public-key-identifier': 'not-a-known-key' } })],
      ['a body changed after signing', () => ({ headers: signed, body: text.replace('"content"', '"commit"') })],
      ['the signature of another body', () => ({ headers: signedHeaders('[]', TEST_CODE_HOST_KEY) })],
      ['a signature that is not DER', () => ({ headers: { ...signed, 'github-public-key-signature': Buffer.from('not a signature').toString('base64') } })],
      ['the admin key instead of a signature', () => ({ headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` } })],
      ['the tenant’s secret key instead of a signature', () => ({ headers: { 'content-type': 'application/json', 'x-api-key': tenant.liveKey } })],
    ])('%s → 401 invalid_signature', async (_name, request) => {
      const { headers, body = text } = request() as { headers: Record<string, string>; body?: string }
      const res = await t.call('POST', ROUTE, { headers, body })
      expectProblem(res, 401, 'invalid_signature')
      expect(res.headers['www-authenticate']).toBe('Bearer realm="parley"')
      expect(await works(leaked.key)).toBe(true)
      expect(await traces(leaked.id)).toMatchObject({ key: { revoked_at: null }, reports: [], alerts: [], events: [] })
    })

    it('answers an unsigned body that is not JSON 401 too (the signature comes first), a signed one 400', async () => {
      const garbage = '[{"token": '
      expectProblem(await t.call('POST', ROUTE, { headers: { 'content-type': 'application/json' }, body: garbage }), 401, 'invalid_signature')
      expectProblem(await t.call('POST', ROUTE, { headers: signedHeaders(garbage, TEST_CODE_HOST_KEY), body: garbage }), 400, 'invalid_request')
      expectProblem(await t.call('POST', ROUTE, { headers: signedHeaders('', TEST_CODE_HOST_KEY), body: '' }), 400, 'invalid_request')
      expect(await works(leaked.key)).toBe(true)
    })
  })

  it('takes at most 1,000 tokens and 1 MiB per report', async () => {
    const leaked = await newKey()
    const malformed = (i: number) => reported(`sk_live_not_a_key_${i}`)
    const full = await send(Array.from({ length: 1000 }, (_, i) => malformed(i)))
    expect(full.status, full.text).toBe(200)
    expect(full.body).toHaveLength(1000)

    const tooMany = await send([...Array.from({ length: 1000 }, (_, i) => malformed(i)), reported(leaked.key)])
    expectProblem(tooMany, 400, 'validation_failed')
    const tooBig = await send([reported(leaked.key), reported('x'.repeat(1024 * 1024))])
    expectProblem(tooBig, 413, 'payload_too_large')
    const notAnArray = await send({ token: leaked.key, type: 'parley_secret_key', url: 'https://x', source: 'content' })
    expectProblem(notAnArray, 400, 'validation_failed')
    expect(await works(leaked.key)).toBe(true)
  })

  it('ignores fields a code host adds to an item', async () => {
    const leaked = await newKey()
    const res = await send([{ ...reported(leaked.key), secret_scanning_alert_id: 42 }])
    expect(res.body[0].label).toBe('true_positive')
  })

  it('revokes a leaked publishable key too, and labels keys revoked or expired before as true positives without a new event', async () => {
    const publishable = await newKey('publishable')
    expect(await works(publishable.key)).toBe(true)
    expect((await send([reported(publishable.key)])).body[0]).toMatchObject({ token_type: 'parley_publishable_key', label: 'true_positive' })
    expect(await works(publishable.key)).toBe(false)

    const revoked = await newKey()
    expect((await t.call('POST', `/v1/keys/${revoked.id}/revoke`, { auth: tenant.liveKey })).status).toBe(200)
    const expired = await newKey()
    await t.parley.store.db.updateTable('api_keys').set({ expires_at: '2020-01-01T00:00:00.000Z' }).where('id', '=', expired.id).execute()
    const res = await send([reported(revoked.key), reported(expired.key)])
    expect(res.body.map((v: { label: string }) => v.label)).toEqual(['true_positive', 'true_positive'])
    for (const id of [revoked.id, expired.id]) {
      const { events, alerts, reports } = await traces(id)
      expect(events.map((e) => e.type)).toEqual(id === revoked.id ? ['key.revoked'] : [])
      expect(alerts).toEqual([])
      expect(reports).toHaveLength(1) // where it was found is still worth knowing
    }
    expect((await keyOf(expired.id)).status).toBe('expired')
  })

  describe('POST /v1/admin/leaked-keys', () => {
    it('takes the same report from the operator, without a signature', async () => {
      const leaked = await newKey('secret', tenant.testKey)
      const unknown = generateKey('sk_test_')
      const res = await t.call('POST', '/v1/admin/leaked-keys', { auth: t.adminKey, body: [reported(leaked.key, 'file:///srv/app/.env', 'gitleaks'), reported(unknown)] })
      expect(res.status, res.text).toBe(200)
      expect(res.body).toEqual([
        { token_hash: sha256(leaked.key), token_type: 'parley_secret_key', label: 'true_positive' },
        { token_hash: sha256(unknown), token_type: 'parley_secret_key', label: 'false_positive' },
      ])
      expect(await works(leaked.key)).toBe(false)
      const { events } = await traces(leaked.id)
      expect(JSON.parse(events.find((e) => e.type === 'key.leaked')!.data)).toEqual({ keyId: leaked.id, environment: 'test', url: 'file:///srv/app/.env', source: 'gitleaks' })
    })

    it('needs the admin key', async () => {
      const leaked = await newKey()
      const body = [reported(leaked.key)]
      expectProblem(await t.call('POST', '/v1/admin/leaked-keys', { body }), 401, 'authentication_required')
      expectProblem(await t.call('POST', '/v1/admin/leaked-keys', { auth: tenant.liveKey, body }), 403, 'forbidden')
      // A code host's signature is no admin key.
      const text = JSON.stringify(body)
      expectProblem(await t.call('POST', '/v1/admin/leaked-keys', { headers: signedHeaders(text, TEST_CODE_HOST_KEY), body: text }), 401, 'authentication_required')
      expect(await works(leaked.key)).toBe(true)
    })
  })

  it('leaves the token in no log line and no table', async () => {
    const leaked = await newKey()
    const unknown = generateKey('sk_live_')
    const tokens = [leaked.key, unknown]
    await send(tokens.map((token) => reported(token)))
    // A reporter that puts the token in the URL or source too: kept without it.
    await send([reported(leaked.key, `https://example.com/paste?key=${leaked.key}`, `scan of ${leaked.key}`)])
    expect((await keyOf(leaked.id)).leakReports).toContainEqual(expect.objectContaining({ url: 'https://example.com/paste?key=[REDACTED]', source: 'scan of [REDACTED]' }))
    await send(tokens.map((token) => reported(token)))
    await t.call('POST', '/v1/admin/leaked-keys', { auth: t.adminKey, body: tokens.map((token) => reported(token, 'https://example.com/2', 'admin')) })
    await t.call('POST', ROUTE, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(tokens.map((token) => reported(token))) })
    expect(await works(leaked.key)).toBe(false)
    await t.parley.flush()

    const db = t.parley.store.db
    const tables = (await db.introspection.getTables()).map((table) => table.name)
    expect(tables).toEqual(expect.arrayContaining(['api_keys', 'leak_reports', 'alert_events', 'events']))
    const dump: string[] = []
    for (const table of tables) {
      const rows = await db.selectFrom(table as 'events').selectAll().execute()
      dump.push(`${table}: ${JSON.stringify(rows)}`)
    }
    const everything = dump.join('\n')
    expect(everything).toContain(leaked.id) // the dump is real
    const logs = capturedLogs.join('')
    expect(logs).toContain('leaked key revoked')
    for (const token of tokens) {
      expect(everything.includes(token), 'a token in storage').toBe(false)
      expect(logs.includes(token), 'a token in the logs').toBe(false)
      // Nor its random part alone (a log or column that dropped the prefix).
      expect(everything.includes(token.slice(8, 40)) || logs.includes(token.slice(8, 40))).toBe(false)
    }
  })
})

describe('when leak reports are not configured', () => {
  let t: TestParley
  beforeAll(async () => void (t = await startParley()))
  afterAll(() => t.close())

  it('answers the signed route 404, and the operator can still report', async () => {
    const text = JSON.stringify([reported(generateKey('sk_live_'))])
    expectProblem(await t.call('POST', ROUTE, { headers: signedHeaders(text, TEST_CODE_HOST_KEY), body: text }), 404, 'not_found')
    expectProblem(await t.call('POST', ROUTE, { headers: { 'content-type': 'application/json' }, body: text }), 404, 'not_found')
    const res = await t.call('POST', '/v1/admin/leaked-keys', { auth: t.adminKey, body: JSON.parse(text) })
    expect(res.status).toBe(200)
    expect(res.body[0].label).toBe('false_positive')
  })
})
