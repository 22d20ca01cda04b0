/**
 * GET /dashboard: the built web console served by the API's own process, under a strict page
 * policy (DASHBOARD.md "Quality"): CSP without unsafe-inline, no framing, no sniffing, no
 * referrer; hashed assets cached for a year, the page revalidated; the single-page app's routes
 * answered with index.html; only files of the built directory, ever; 503 while not built.
 * The built dashboard is stood in for by a directory of a few files (PARLEY_DASHBOARD_DIR).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultDashboardDir } from '../../src/dashboard/assets.js'
import { type TestParley, startParley } from '../helpers/parley.js'
import { expectProblem } from '../helpers/problems.js'

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
const INDEX = '<!doctype html><html><head><script type="module" src="/dashboard/assets/index-3f2a9c.js"></script></head><body><div id="app"></div></body></html>\n'
const SCRIPT = `console.log("dashboard");\n${'// padding so the file is worth compressing\n'.repeat(100)}`

function expectPagePolicy(headers: Record<string, unknown>): void {
  expect(headers['content-security-policy']).toBe(CSP)
  expect(String(headers['content-security-policy'])).not.toContain('unsafe-inline')
  expect(headers['x-frame-options']).toBe('DENY')
  expect(headers['x-content-type-options']).toBe('nosniff')
  expect(headers['referrer-policy']).toBe('no-referrer')
}

describe('a built dashboard', () => {
  let t: TestParley
  let dir: string
  let outside: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-dashboard-'))
    outside = mkdtempSync(join(tmpdir(), 'parley-outside-'))
    mkdirSync(join(dir, 'assets'))
    writeFileSync(join(dir, 'index.html'), INDEX)
    writeFileSync(join(dir, 'assets', 'index-3f2a9c.js'), SCRIPT)
    writeFileSync(join(dir, 'assets', 'index-77b1e0.css'), 'body{margin:0}\n')
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
    writeFileSync(join(dir, '.env'), 'SECRET=1\n')
    writeFileSync(join(outside, 'secret.txt'), 'not for the web\n')
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'linked.txt'))
    t = await startParley({ env: { PARLEY_DASHBOARD_DIR: dir } })
  })
  afterAll(async () => {
    await t.close()
    rmSync(dir, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  })

  it('serves index.html at /dashboard and /dashboard/, revalidated on each use, under the page policy', async () => {
    for (const url of ['/dashboard', '/dashboard/']) {
      const res = await t.call('GET', url)
      expect(res.status, url).toBe(200)
      expect(res.text).toBe(INDEX)
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(res.headers['cache-control']).toBe('no-cache')
      expectPagePolicy(res.headers)
    }
  })

  it('answers the single-page app’s own routes with index.html', async () => {
    for (const url of ['/dashboard/keys', '/dashboard/tenants/ten_123/usage', '/dashboard/usage?range=day']) {
      const res = await t.call('GET', url)
      expect(res.status, url).toBe(200)
      expect(res.text, url).toBe(INDEX)
      expectPagePolicy(res.headers)
    }
  })

  it('serves hashed assets with their type, cached for a year', async () => {
    const script = await t.call('GET', '/dashboard/assets/index-3f2a9c.js')
    expect(script.status).toBe(200)
    expect(script.text).toBe(SCRIPT)
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expectPagePolicy(script.headers)
    const style = await t.call('GET', '/dashboard/assets/index-77b1e0.css')
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8')
    expect(style.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    // Files outside assets/ are not named by their content: revalidated.
    const icon = await t.call('GET', '/dashboard/favicon.svg')
    expect(icon.headers['content-type']).toBe('image/svg+xml')
    expect(icon.headers['cache-control']).toBe('no-cache')
  })

  it('answers a missing file 404 (problem+json, page policy), never index.html', async () => {
    for (const url of ['/dashboard/assets/index-000000.js', '/dashboard/nothing.png']) {
      const res = await t.call('GET', url)
      expectProblem(res, 404, 'not_found')
      expectPagePolicy(res.headers)
    }
  })

  it('serves only the files of the built directory: no dotfile, no symbolic link, no way out', async () => {
    for (const url of ['/dashboard/.env', '/dashboard/linked.txt', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/..%2f..%2fpackage.json', '/dashboard/assets/..%2findex.html.bak']) {
      const res = await t.call('GET', url)
      expect(res.status, url).toBe(404)
      expect(res.text, url).not.toContain('SECRET')
      expect(res.text, url).not.toContain('not for the web')
    }
  })

  it('answers a revalidation with 304, and gzips for clients that take it', async () => {
    const first = await t.call('GET', '/dashboard/assets/index-3f2a9c.js')
    const etag = String(first.headers.etag)
    expect(etag).toMatch(/^"[\w-]+"$/)
    const again = await t.call('GET', '/dashboard/assets/index-3f2a9c.js', { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    expect(again.text).toBe('')

    const response = await t.parley.app.inject({ method: 'GET', url: '/dashboard/assets/index-3f2a9c.js', headers: { 'accept-encoding': 'br, gzip' } })
    expect(response.headers['content-encoding']).toBe('gzip')
    expect(response.headers.vary).toBe('Accept-Encoding')
    expect(response.headers.etag).not.toBe(etag)
    expect(gunzipSync(response.rawPayload).toString()).toBe(SCRIPT)
    expect(response.rawPayload.length).toBeLessThan(SCRIPT.length / 4)
    const refused = await t.parley.app.inject({ method: 'GET', url: '/dashboard/assets/index-3f2a9c.js', headers: { 'accept-encoding': 'gzip;q=0' } })
    expect(refused.headers['content-encoding']).toBeUndefined()
  })

  it('answers HEAD like GET, without a body', async () => {
    const res = await t.call('HEAD', '/dashboard/keys')
    expect(res.status).toBe(200)
    expect(res.text).toBe('')
    expectPagePolicy(res.headers)
  })

  it('stays out of the API description, which describes the session routes and their credentials', async () => {
    const doc = await t.call('GET', '/openapi.json')
    expect(Object.keys(doc.body.paths).filter((path) => !path.startsWith('/v1/'))).toEqual([])
    const session = doc.body.paths['/v1/dashboard/session']
    expect(Object.fromEntries(Object.entries(session).map(([method, op]: [string, any]) => [method, [op.operationId, op.tags, op.security]]))).toEqual({
      post: ['dashboard.session.create', ['Dashboard'], [{}]],
      get: ['dashboard.session.get', ['Dashboard'], [{ dashboardSession: [] }]],
      delete: ['dashboard.session.delete', ['Dashboard'], [{ dashboardSession: [] }]],
    })
    expect(doc.body.components.securitySchemes.dashboardSession).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'parley_dashboard' })
    const reference = await t.call('GET', '/docs')
    expect(reference.text).toContain('the admin key or a secret key in the <code>key</code> body field')
    expect(reference.text).toContain('the dashboard session cookie (<code>parley_dashboard</code>)')
  })
})

describe('a dashboard that is not built', () => {
  let t: TestParley
  let empty: string
  beforeAll(async () => {
    empty = mkdtempSync(join(tmpdir(), 'parley-unbuilt-'))
    t = await startParley({ env: { PARLEY_DASHBOARD_DIR: empty } })
  })
  afterAll(async () => {
    await t.close()
    rmSync(empty, { recursive: true, force: true })
  })

  it('answers 503 with a short page saying how to build it, and the API works', async () => {
    for (const url of ['/dashboard', '/dashboard/keys', '/dashboard/assets/index.js']) {
      const res = await t.call('GET', url)
      expect(res.status, url).toBe(503)
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(res.text).toContain('npm run build')
      expect(res.headers['cache-control']).toBe('no-store')
      expectPagePolicy(res.headers)
    }
    expect((await t.call('GET', '/v1/admin/tenants', { auth: t.adminKey })).status).toBe(200)
  })
})

describe('where the dashboard is found', () => {
  it('by default, the dist/ of the @parley/dashboard package of this repository', () => {
    const expected = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url))
    expect(defaultDashboardDir()).toBe(expected)
  })
})
