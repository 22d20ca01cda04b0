/**
 * Leak reports as a code host sends them (API.md §11): P-256 key pairs standing in for the code
 * host's signing keys, bodies signed with them as GitHub signs secret scanning partner reports, and
 * the JSON the keys are published in: inline (PARLEY_LEAK_REPORT_KEYS) or served by a real local
 * HTTP server (PARLEY_LEAK_REPORT_KEYS_URL) that counts its requests and can be taken down.
 */
import { type KeyObject, generateKeyPairSync, sign } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { uniqueSuffix } from './values.js'

export interface CodeHostKey {
  identifier: string
  privateKey: KeyObject
  publicPem: string
}

/** A fresh signing key of a code host. */
export function codeHostKey(identifier = `key-${uniqueSuffix()}`): CodeHostKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  return { identifier, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string }
}

/** The JSON a code host publishes its keys in (GitHub's format). */
export function publishedKeys(...keys: CodeHostKey[]): string {
  return JSON.stringify({
    public_keys: keys.map((key, i) => ({ key_identifier: key.identifier, key: key.publicPem, is_current: i === 0 })),
  })
}

/** The headers of a report whose body is exactly `body`, signed with `key` (base64 DER ECDSA P-256 SHA-256). */
export function signedHeaders(body: string, key: CodeHostKey): Record<string, string> {
  return {
    'content-type': 'application/json',
    'github-public-key-identifier': key.identifier,
    'github-public-key-signature': sign('sha256', Buffer.from(body), { key: key.privateKey, dsaEncoding: 'der' }).toString('base64'),
  }
}

/** The code host key suites share, and the setting that makes a Parley trust it. */
export const TEST_CODE_HOST_KEY = codeHostKey('parley-test-code-host')
export const leakReportEnv = (...keys: CodeHostKey[]) => ({ PARLEY_LEAK_REPORT_KEYS: publishedKeys(...(keys.length ? keys : [TEST_CODE_HOST_KEY])) })

/** A report item for a token, with the fields a code host sends. */
export const reported = (token: string, url = 'https://github.com/acme/app/blob/abc123/.env', source = 'content') => ({
  token,
  type: token.startsWith('pk_') ? 'parley_publishable_key' : 'parley_secret_key',
  url,
  source,
})

export interface KeyServer {
  /** Where the keys are published (PARLEY_LEAK_REPORT_KEYS_URL). */
  url: string
  /** Requests served so far. */
  hits: number
  /** What it lists from now on. */
  publish(...keys: CodeHostKey[]): void
  /** Serve this text instead (a list with entries Parley cannot use). */
  serve(text: string): void
  /** Answer every request with this status (e.g. 503) until called with null. */
  failWith(status: number | null): void
  close(): Promise<void>
}

export async function startKeyServer(...keys: CodeHostKey[]): Promise<KeyServer> {
  let listed = publishedKeys(...keys)
  let failure: number | null = null
  const server = http.createServer((request, response) => {
    state.hits++
    if (failure !== null) {
      response.writeHead(failure).end('down')
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(listed)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const state: KeyServer = {
    url: `http://127.0.0.1:${port}/meta/public_keys/secret_scanning`,
    hits: 0,
    publish: (...next) => void (listed = publishedKeys(...next)),
    serve: (text) => void (listed = text),
    failWith: (status) => void (failure = status),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  return state
}
