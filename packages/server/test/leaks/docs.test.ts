/**
 * What docs/security.md tells scanners, against real keys: the regular expressions of its table
 * and of its gitleaks rules match every kind of key Parley makes, and its checksum snippets (run as
 * written, in Node and in Python when there is one) accept real keys and refuse altered ones.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { KEY_PREFIXES, generateKey } from '../../src/auth/key-format.js'

const DOCS = join(import.meta.dirname, '..', '..', '..', '..', 'docs')
const security = readFileSync(join(DOCS, 'security.md'), 'utf8')

/** The fenced block right after `<!-- leaks: <name> -->`. */
function block(name: string): string {
  const match = new RegExp(`<!-- leaks: ${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(security)
  if (!match) throw new Error(`docs/security.md has no block marked <!-- leaks: ${name} -->`)
  return match[1]!
}

const real = Object.keys(KEY_PREFIXES).flatMap((prefix) => [generateKey(prefix), generateKey(prefix)])
/** Each real key with its last checksum character changed: the shape holds, the checksum does not. */
const altered = real.map((key) => key.slice(0, -1) + (key.at(-1) === 'a' ? 'b' : 'a'))
const misshapen = [`sk_prod_${real[0]!.slice(8)}`, real[0]!.slice(0, -1), `${real[0]}x`, `sk_live_${'-'.repeat(38)}`]

describe('the key format in docs/security.md', () => {
  it('gives regular expressions that match every kind of key, and only whole ones', () => {
    const section = security.slice(security.indexOf('### The key format, for scanners'))
    const patterns = [...section.matchAll(/^\| (?:secret|publishable) key \| `(.+)` \|$/gm)].map(([, pattern]) => new RegExp(`^${pattern!.replaceAll('\\|', '|')}$`))
    expect(patterns).toHaveLength(2)
    for (const key of [...real, ...altered]) expect(patterns.filter((p) => p.test(key)), key).toHaveLength(1)
    for (const text of misshapen) expect(patterns.some((p) => p.test(text)), text).toBe(false)
  })

  it('gives gitleaks rules that find keys in text and capture exactly the key', () => {
    const regexes = [...block('gitleaks').matchAll(/^regex = '''(.+)'''$/gm)].map(([, pattern]) => new RegExp(pattern!, 'g'))
    expect(regexes).toHaveLength(2)
    for (const key of real) {
      const found = regexes.flatMap((regex) => [...`PARLEY_KEY=${key}\nconst k = "${key}";`.matchAll(regex)].map((m) => m[1]))
      expect(found, key).toEqual([key, key])
    }
    expect(regexes.some((regex) => regex.test(`x${real[0]}y`))).toBe(false)
  })

  const dir = mkdtempSync(join(tmpdir(), 'parley-key-check-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const expected = [...real.map(() => 'valid'), ...altered.map(() => 'invalid'), ...misshapen.map(() => 'invalid')]

  it('gives a JavaScript checksum check that runs as written', () => {
    const file = join(dir, 'check-parley-key.mjs')
    writeFileSync(file, block('checksum-js'))
    const run = spawnSync(process.execPath, [file, ...real, ...altered, ...misshapen], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.stdout.trim().split('\n')).toEqual(expected)
  })

  const python = ['python3', 'python'].find((command) => spawnSync(command, ['--version']).status === 0)
  it.runIf(python)('gives a Python checksum check that runs as written', () => {
    const file = join(dir, 'check_parley_key.py')
    writeFileSync(file, block('checksum-python'))
    const run = spawnSync(python!, [file, ...real, ...altered, ...misshapen], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.stdout.trim().split('\n')).toEqual(expected)
  })
})
