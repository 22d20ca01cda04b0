/**
 * The doc-test: docs/quickstart.md as a reader follows it, then docs/api.md's examples, which
 * continue from it. Every ```sh block runs, in order, in one bash (so exported variables carry
 * over), against a `parley start` process; a failing request fails the test. A block is left out
 * only when an HTML comment `<!-- doc-test: skip (why) -->` right above it says so (starting the
 * server, the admin key the reader pastes in). A ```js block marked `<!-- doc-test: browser -->`
 * runs in Node with what a page has: `ws` as WebSocket, fetch against the session route.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ParleyProcess, freePort, startProcess } from '../helpers/processes.js'

const ROOT = join(import.meta.dirname, '..', '..', '..', '..')
const DOCS = join(ROOT, 'docs')

interface Block {
  lang: string
  code: string
  /** The `<!-- doc-test: … -->` directive right above the block, if any. */
  directive: string | null
}

function blocksOf(file: string): Block[] {
  const text = readFileSync(join(DOCS, file), 'utf8')
  return [...text.matchAll(/(?:<!-- doc-test: (\w+)[^>]*-->\n)?```(\w*)\n([\s\S]*?)\n```/g)].map(([, directive, lang, code]) => ({
    lang: lang!,
    code: code!,
    directive: directive ?? null,
  }))
}

/** Runs the examples' commands in a page-like Node: the page's session cookie is the demo route's header. */
function browserPrelude(sessionUrl: string): string {
  return `
import { createRequire } from 'node:module'
globalThis.WebSocket = createRequire(${JSON.stringify(join(ROOT, 'package.json'))})('ws')
const pageFetch = globalThis.fetch
globalThis.fetch = (url, init = {}) =>
  pageFetch(new URL(url, ${JSON.stringify(sessionUrl)}), { ...init, headers: { ...init.headers, 'x-demo-user': 'alice' } })
const conversationId = process.env.CONVERSATION_ID
let logged = 0
const log = console.log
console.log = (...args) => { log(...args); if (++logged === 2) process.exit(0) }
setTimeout(() => { console.error('doc-test: the browser example did not log twice within 10 s'); process.exit(1) }, 10_000).unref?.()
`
}

const hasTools = ['curl', 'jq'].every((tool) => spawnSync(tool, ['--version']).status === 0)

describe.runIf(hasTools)('the quickstart and the API guide, run as written', () => {
  const adminKey = randomBytes(24).toString('hex')
  let parley: ParleyProcess
  let dir: string
  let result: { code: number | null; stdout: string; stderr: string }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-doctest-'))
    // The reader works in the repository root: the examples are under docs/, and the page script
    // imports @parley/client from node_modules/.
    symlinkSync(DOCS, join(dir, 'docs'))
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
    parley = await startProcess({ PARLEY_DATABASE_URL: `sqlite:${join(dir, 'parley.db')}`, PARLEY_ADMIN_KEY: adminKey })
    const sessionPort = await freePort()
    const sessionUrl = `http://127.0.0.1:${sessionPort}`
    const steps: string[] = []
    let browserScripts = 0
    for (const file of ['quickstart.md', 'api.md']) {
      for (const block of blocksOf(file)) {
        if (block.directive === 'skip') continue
        if (block.lang === 'sh') steps.push(`# ${file}\n${block.code}`)
        if (block.lang === 'js' && block.directive === 'browser') {
          const script = `.doctest-browser-${++browserScripts}.mjs`
          writeFileSync(join(dir, script), browserPrelude(sessionUrl) + block.code)
          steps.push(`node ${script}`)
        }
      }
    }
    const script = [
      'set -euo pipefail',
      "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
      // A response that is not 2xx fails the step, and is recorded even inside $( … ).
      'curl() { command curl --fail-with-body "$@" || { s=$?; echo "doc-test: curl failed ($s): $*" >&2; echo "$*" >> .doctest-failures; return $s; }; }',
      // A shared test machine can be much slower than a reader's: the pauses that let a
      // background process start get twice as long.
      'sleep() { command sleep "$(( $1 * 2 ))"; }',
      ...steps,
    ]
      .join('\n\n')
      .replaceAll('localhost:8080', new URL(parley.url).host)
      .replaceAll('localhost:3000', `127.0.0.1:${sessionPort}`)
    writeFileSync(join(dir, '.doctest.sh'), script)
    result = await new Promise((resolve) => {
      const child = spawn('bash', ['.doctest.sh'], {
        cwd: dir,
        env: { ...process.env, PARLEY_ADMIN_KEY: adminKey, PORT: String(sessionPort) },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => (stdout += String(chunk)))
      child.stderr.on('data', (chunk) => (stderr += String(chunk)))
      child.once('exit', (code) => resolve({ code, stdout, stderr }))
    })
  }, 60_000)
  afterAll(async () => {
    await parley?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('runs every command to the end, every request succeeding', () => {
    const failures = join(dir, '.doctest-failures')
    expect(existsSync(failures) ? readFileSync(failures, 'utf8') : '', result.stderr).toBe('')
    expect(result.stderr).not.toMatch(/jq: error|command not found|No such file/)
    expect(result.code, result.stderr).toBe(0)
  })

  it('keeps the answers holding secrets in .parley/, readable only by the user', () => {
    expect(statSync(join(dir, '.parley')).mode & 0o777).toBe(0o700)
    const tenant = JSON.parse(readFileSync(join(dir, '.parley', 'tenant.json'), 'utf8'))
    expect(tenant.keys.test.key).toMatch(/^sk_test_/)
    expect(tenant.tenant.plan).toBe('starter')
  })

  it('shows live messages in the Node realtime client and the browser example', () => {
    // Not anchored at the start: curl's answers end without a newline.
    expect(result.stdout).toMatch(/ready: bob \(conn_\w+\)$/m)
    expect(result.stdout).toMatch(/^message\.created conv_\w+ #2 alice: Are you there, Bob\?$/m)
    expect(result.stdout).toMatch(/^sent as #3$/m)
    expect(result.stdout).toMatch(/^alice: Sent over the socket$/m)
  })

  it('prints at start what the quickstart shows', () => {
    const banner = blocksOf('quickstart.md').find((block) => block.lang === 'text' && block.code.includes('Parley'))!
    const labels = [...banner.code.matchAll(/^ {2}([A-Z][\w ]*?) {2,}/gm)].map(([, label]) => label!)
    expect(labels.length).toBeGreaterThan(3)
    const output = parley.output.join('')
    for (const label of labels) expect(output, label).toMatch(new RegExp(`^ {2}${label} {2,}\\S`, 'm'))
  })
})
