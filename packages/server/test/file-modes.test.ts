/**
 * Files Parley creates are its own (API.md §12): the data directory 0700, the SQLite database
 * and its -wal/-shm 0600, signing.kek 0600, whatever the umask; an existing signing.kek that
 * group or others may access stops start-up with a message naming it.
 */
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Kek } from '../src/auth/kek.js'
import { UnsafeFileError } from '../src/lib/private-files.js'
import { openStore } from '../src/storage/database.js'

const modeOf = (path: string) => statSync(path).mode & 0o777

let root: string
let previousUmask: number
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'parley-modes-'))
  // The most permissive umask: any private mode seen below was set by Parley, not inherited.
  previousUmask = process.umask(0)
})
afterAll(() => {
  process.umask(previousUmask)
  rmSync(root, { recursive: true, force: true })
})

let n = 0
const freshDir = () => join(root, `case-${++n}`)

describe('the signing key file', () => {
  it('is created 0600 in a data directory created 0700 (parents included)', () => {
    const dataDir = join(freshDir(), 'nested', 'data')
    Kek.load(null, dataDir)
    expect(modeOf(join(dataDir, 'signing.kek'))).toBe(0o600)
    expect(modeOf(dataDir)).toBe(0o700)
    expect(modeOf(join(dataDir, '..'))).toBe(0o700)
  })

  it('leaves an existing directory as it is', () => {
    const dataDir = freshDir()
    mkdirSync(dataDir, { mode: 0o755 })
    Kek.load(null, dataDir)
    expect(modeOf(dataDir)).toBe(0o755)
  })

  it('is reused when private, and refused with its path when group or others may access it', () => {
    const dataDir = freshDir()
    const sealed = Kek.load(null, dataDir).encrypt('secret', 'ctx')
    expect(Kek.load(null, dataDir).decrypt(sealed, 'ctx')).toBe('secret')
    const file = join(dataDir, 'signing.kek')
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      chmodSync(file, mode)
      expect(() => Kek.load(null, dataDir)).toThrow(UnsafeFileError)
      expect(() => Kek.load(null, dataDir)).toThrow(`${file} is accessible by group or others`)
    }
    chmodSync(file, 0o400)
    expect(Kek.load(null, dataDir).decrypt(sealed, 'ctx')).toBe('secret')
  })
})

describe('the SQLite database', () => {
  it('is created 0600 with its -wal and -shm, in a directory created 0700', async () => {
    const dir = join(freshDir(), 'data')
    const path = join(dir, 'parley.db')
    const store = await openStore({ kind: 'sqlite', path })
    try {
      await store.db.schema.createTable('t').addColumn('x', 'integer').execute()
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        expect(existsSync(file), file).toBe(true)
        expect(modeOf(file), file).toBe(0o600)
      }
      expect(modeOf(dir)).toBe(0o700)
    } finally {
      await store.close()
    }
  })

  it('narrows the files of an older database that others could read', async () => {
    const dir = freshDir()
    mkdirSync(dir)
    const path = join(dir, 'parley.db')
    for (const file of [path, `${path}-wal`, `${path}-shm`]) writeFileSync(file, '', { mode: 0o644 })
    const store = await openStore({ kind: 'sqlite', path })
    try {
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(modeOf(file), file).toBe(0o600)
    } finally {
      await store.close()
    }
  })
})

describe('parley start', () => {
  const CLI = join(import.meta.dirname, '..', 'bin', 'parley.js')
  let dataDir: string
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }))

  it('stops with exit code 2 and names an unsafe signing.kek', async () => {
    dataDir = freshDir()
    mkdirSync(dataDir, { mode: 0o700 })
    const kek = join(dataDir, 'signing.kek')
    writeFileSync(kek, randomBytes(32).toString('base64'), { mode: 0o644 })
    const child = spawn(process.execPath, [CLI, 'start'], {
      env: { ...process.env, PARLEY_DATABASE_URL: `sqlite:${join(dataDir, 'parley.db')}`, PARLEY_PORT: '0', PARLEY_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code).toBe(2)
    expect(stderr).toContain(`${kek} is accessible by group or others (mode 0644)`)
  })
})
