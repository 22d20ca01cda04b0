/**
 * Where the code host's public keys come from (API.md §11): published at PARLEY_LEAK_REPORT_KEYS_URL
 * (a real local HTTP server here, counting its requests) and cached, fetched again for an unknown
 * identifier at most once a minute, answered 503 when they cannot be fetched (nothing revoked), or
 * given inline in PARLEY_LEAK_REPORT_KEYS, checked at start-up.
 */
import { generateKeyPairSync } from 'node:crypto'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { MAX_AGE_MS, PublishedReporterKeys, REFETCH_INTERVAL_MS } from '../../src/leaks/reporter-keys.js'
import { ENGINES } from '../helpers/databases.js'
import { type CodeHostKey, type KeyServer, codeHostKey, publishedKeys, reported, signedHeaders, startKeyServer } from '../helpers/leak-reports.js'
import { type TestParley, type TestTenant, startParley } from '../helpers/parley.js'
import { expectProblem } from '../helpers/problems.js'

const ROUTE = '/v1/security/leaked-keys'
const first = codeHostKey()
const second = codeHostKey()
const unpublished = codeHostKey()

const servers: KeyServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})
async function keyServer(...keys: CodeHostKey[]): Promise<KeyServer> {
  const server = await startKeyServer(...keys)
  servers.push(server)
  return server
}

describe.each(ENGINES)('keys published at a URL, through Parley on %s', (engine) => {
  let t: TestParley
  let tenant: TestTenant
  let server: KeyServer

  // A Parley per test: each starts with an empty cache of the code host's keys.
  const start = async (url: string) => {
    t = await startParley({ engine, env: { PARLEY_LEAK_REPORT_KEYS_URL: url } })
    tenant = await t.createTenant()
  }
  afterEach(() => t?.close())

  const newKey = async (): Promise<string> => (await t.call('POST', '/v1/keys', { auth: tenant.liveKey, body: { name: 'leaky', type: 'secret' } })).body.key
  const send = (token: string, by: CodeHostKey) => {
    const text = JSON.stringify([reported(token)])
    return t.call('POST', ROUTE, { headers: signedHeaders(text, by), body: text })
  }
  const works = async (key: string) => (await t.call('GET', '/v1/me', { auth: key })).status === 200

  it('fetches the keys on the first report and serves the next from its cache', async () => {
    server = await keyServer(first)
    await start(server.url)
    expect(server.hits).toBe(0)
    const [a, b] = [await newKey(), await newKey()]
    expect((await send(a, first)).body[0].label).toBe('true_positive')
    expect((await send(b, first)).body[0].label).toBe('true_positive')
    expect(server.hits).toBe(1)
    expect([await works(a), await works(b)]).toEqual([false, false])
  })

  it('fetches them once more for an unknown identifier, and not again within a minute', async () => {
    server = await keyServer(first)
    await start(server.url)
    expect((await send(await newKey(), first)).status).toBe(200)
    expect(server.hits).toBe(1)

    // The code host publishes a new key and signs with it: one fetch finds it.
    server.publish(first, second)
    const key = await newKey()
    expect((await send(key, second)).body[0].label).toBe('true_positive')
    expect(server.hits).toBe(2)
    expect(await works(key)).toBe(false)

    // Identifiers nobody published: no fetch within the minute, so made-up identifiers cost nothing.
    const other = await newKey()
    expectProblem(await send(other, unpublished), 401, 'invalid_signature')
    expectProblem(await send(other, codeHostKey()), 401, 'invalid_signature')
    expect(server.hits).toBe(2)
    expect(await works(other)).toBe(true)
  })

  it('answers 503 and revokes nothing while the keys cannot be fetched, and works once they can', async () => {
    server = await keyServer(first)
    server.failWith(503)
    await start(server.url)
    const key = await newKey()
    expectProblem(await send(key, first), 503, 'unavailable')
    expect(await works(key)).toBe(true)

    server.failWith(null)
    expect((await send(key, first)).body[0].label).toBe('true_positive')
    expect(await works(key)).toBe(false)
  })

  it('answers 503 when nothing listens at the URL, or it lists no usable key', async () => {
    const gone = await startKeyServer(first)
    await gone.close()
    await start(gone.url)
    let key = await newKey()
    expectProblem(await send(key, first), 503, 'unavailable')
    expect(await works(key)).toBe(true)
    await t.close()

    server = await keyServer()
    await start(server.url)
    key = await newKey()
    expectProblem(await send(key, first), 503, 'unavailable')
    expect(await works(key)).toBe(true)
  })
})

describe('PublishedReporterKeys over time', () => {
  let now = 0
  const problems: string[] = []
  const keysAt = (url: string) => new PublishedReporterKeys(url, { now: () => now, userAgent: 'parley/test', onProblem: (p) => problems.push(p) })
  beforeAll(() => void (now = 1_000_000))

  it('fetches for an unknown identifier at most once a minute', async () => {
    const server = await keyServer(first)
    const keys = keysAt(server.url)
    expect(await keys.keyFor(first.identifier)).not.toBeNull()
    expect(await keys.keyFor(unpublished.identifier)).toBeNull()
    expect(server.hits).toBe(2)
    server.publish(first, second)
    now += REFETCH_INTERVAL_MS - 1
    expect(await keys.keyFor(second.identifier)).toBeNull() // too soon after the last refetch
    expect(await keys.keyFor(first.identifier)).not.toBeNull()
    expect(server.hits).toBe(2)
    now += 1
    expect(await keys.keyFor(second.identifier)).not.toBeNull()
    expect(server.hits).toBe(3)
  })

  it('refreshes a list older than an hour, keeps trusting cached keys while a refresh fails, and drops withdrawn ones', async () => {
    const server = await keyServer(first, second)
    const keys = keysAt(server.url)
    expect(await keys.keyFor(second.identifier)).not.toBeNull()
    now += MAX_AGE_MS
    server.failWith(500)
    expect(await keys.keyFor(second.identifier)).not.toBeNull()
    expect(server.hits).toBe(2)
    expect(problems.at(-1)).toMatch(/answered 500/)
    // An unknown identifier while the list cannot be refreshed: it may be new, so 503, not 401.
    now += REFETCH_INTERVAL_MS
    await expect(keys.keyFor(unpublished.identifier)).rejects.toMatchObject({ code: 'unavailable' })

    server.failWith(null)
    server.publish(first)
    now += REFETCH_INTERVAL_MS
    expect(await keys.keyFor(first.identifier)).not.toBeNull()
    expect(await keys.keyFor(second.identifier)).toBeNull()
  })

  it('makes one fetch for reports that arrive together', async () => {
    const server = await keyServer(first)
    const keys = keysAt(server.url)
    const found = await Promise.all(Array.from({ length: 5 }, () => keys.keyFor(first.identifier)))
    expect(found.every((key) => key !== null)).toBe(true)
    expect(server.hits).toBe(1)
  })

  it('uses the usable entries of a list and reports the rest', async () => {
    const server = await keyServer()
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' })
    const listed = JSON.parse(publishedKeys(first))
    listed.public_keys.push({ key_identifier: 'rsa', key: rsa }, { key_identifier: 'broken', key: 'not a pem' }, { key: 'no identifier' })
    server.serve(JSON.stringify(listed))
    const keys = keysAt(server.url)
    expect(await keys.keyFor(first.identifier)).not.toBeNull()
    now += REFETCH_INTERVAL_MS
    expect(await keys.keyFor('rsa')).toBeNull()
    expect(server.hits).toBe(2)
    expect(problems.at(-1)).toMatch(/public_keys\[1\]: key is not an ECDSA P-256.*public_keys\[2\].*public_keys\[3\]: needs a key_identifier/)
  })
})

describe('configuration', () => {
  const config = (env: Record<string, string>) => () => loadConfig({ PARLEY_DATABASE_URL: 'sqlite::memory:', ...env })

  it('takes the keys inline or a URL, never both, and checks the inline ones at start-up', () => {
    expect(config({ PARLEY_LEAK_REPORT_KEYS: publishedKeys(first) })()).toMatchObject({ leakReportKeysUrl: null, leakReportKeys: publishedKeys(first) })
    expect(config({ PARLEY_LEAK_REPORT_KEYS_URL: 'https://api.github.com/meta/public_keys/secret_scanning' })()).toMatchObject({
      leakReportKeysUrl: 'https://api.github.com/meta/public_keys/secret_scanning',
      leakReportKeys: null,
    })
    expect(config({})()).toMatchObject({ leakReportKeysUrl: null, leakReportKeys: null })
    expect(config({ PARLEY_LEAK_REPORT_KEYS: publishedKeys(first), PARLEY_LEAK_REPORT_KEYS_URL: 'https://example.com/keys' })).toThrow(/PARLEY_LEAK_REPORT_KEYS and PARLEY_LEAK_REPORT_KEYS_URL are both set/)
    expect(config({ PARLEY_LEAK_REPORT_KEYS_URL: 'ftp://example.com/keys' })).toThrow(/PARLEY_LEAK_REPORT_KEYS_URL must be an http\(s\) URL/)
    expect(config({ PARLEY_LEAK_REPORT_KEYS: '{"public_keys": [' })).toThrow(/PARLEY_LEAK_REPORT_KEYS is not JSON/)
    expect(config({ PARLEY_LEAK_REPORT_KEYS: '{"keys": []}' })).toThrow(/PARLEY_LEAK_REPORT_KEYS needs a "public_keys" array/)
    expect(config({ PARLEY_LEAK_REPORT_KEYS: '{"public_keys": []}' })).toThrow(/PARLEY_LEAK_REPORT_KEYS lists no key/)
    expect(config({ PARLEY_LEAK_REPORT_KEYS: JSON.stringify({ public_keys: [{ key_identifier: 'x', key: 'not a pem' }] }) })).toThrow(
      /PARLEY_LEAK_REPORT_KEYS has unusable entries: public_keys\[0\]: key is not an ECDSA P-256 public key/,
    )
  })
})
