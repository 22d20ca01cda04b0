/**
 * A start that fails after storage is open must close what it opened (the database, its
 * checkpoint worker, broker and limiter connections, timers) and report why in one line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createParley } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { redisUrl } from './helpers/databases.js'
import { sleep } from './helpers/wait.js'
import { runCli } from './helpers/processes.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A data directory whose signing.kek is unusable: the KEK loads after the database is open. */
function brokenDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-startup-'))
  dirs.push(dir)
  writeFileSync(join(dir, 'signing.kek'), 'not a key\n', { mode: 0o600 })
  return dir
}

/**
 * The kinds of handle that keep this process busy (sockets, workers, file handles…), counted.
 * Timers are left out: a closed ioredis connection leaves its socket-timeout timer behind until it
 * fires, which never holds the process open; Parley's own timers start only once start-up is done.
 */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind !== 'Timeout') counts.set(kind, (counts.get(kind) ?? 0) + 1)
  }
  return counts
}

/** Lets closed handles leave the event loop's list. */
const settled = () => sleep(100)

describe('a start that fails half-way', () => {
  it('closes the database, its checkpoint worker and the Redis connections it had opened', async () => {
    const dataDir = brokenDataDir()
    const env: Record<string, string> = { PARLEY_DATA_DIR: dataDir, PARLEY_DATABASE_URL: `sqlite:${join(dataDir, 'parley.db')}`, PARLEY_LOG_LEVEL: 'silent' }
    if (redisUrl) env.PARLEY_REDIS_URL = redisUrl
    const config = loadConfig(env, dataDir)
    await settled()
    const before = activeResources()

    await expect(createParley(config)).rejects.toThrow(/signing\.kek/)
    await settled()

    expect(activeResources()).toEqual(before)
  })

  it('the CLI prints one line naming the cause and exits non-zero', async () => {
    const dataDir = brokenDataDir()
    const result = await runCli(['start'], { PARLEY_DATA_DIR: dataDir, PARLEY_DATABASE_URL: `sqlite:${join(dataDir, 'parley.db')}`, PARLEY_PORT: '0' })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^Parley could not start: .*signing\.kek/)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stdout).not.toContain('Admin key')
  })
})
