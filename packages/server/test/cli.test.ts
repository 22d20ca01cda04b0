/**
 * The `parley` command as users run it (the build in dist/): help instead of a surprise server,
 * the version, what `start` prints (storage and Redis without secrets, the listen address), and
 * log lines readable in a terminal but JSON when piped.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { displayUrl } from '../src/lib/display-url.js'
import { type TestDatabase, createTestDatabase, postgresUrl, redisUrl } from './helpers/databases.js'
import { type ParleyProcess, freePort, runCli, startProcess } from './helpers/processes.js'
import { waitFor } from './helpers/wait.js'

const SERVER = join(import.meta.dirname, '..')
const VERSION = (JSON.parse(readFileSync(join(SERVER, 'package.json'), 'utf8')) as { version: string }).version
const ESC_CHAR = '\u001b'
const ANSI = `${ESC_CHAR}[`

describe('parley without a server', () => {
  it('shows the help instead of starting when no command is given (exit 2: bad usage)', async () => {
    const result = await runCli([], {})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('parley: no command given (to run the server: parley start)')
    expect(result.stderr).toContain('Usage: parley <command>')
    expect(result.stdout).toBe('')
  })

  it.each([['--version'], ['-v']])('%s prints the package version', async (flag) => {
    expect(await runCli([flag], {})).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' })
  })

  it.each([[['help']], [['--help']], [['-h']]])('%j lists the commands', async (args) => {
    const result = await runCli(args, {})
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^Usage: parley <command>/)
    expect(result.stdout).toMatch(/^ {2}start {2,}Run the Parley server in the foreground$/m)
    expect(result.stdout).toMatch(/^ {2}help \[command\] {2,}/m)
  })

  it.each([[['help', 'start']], [['start', '--help']], [['help', 'migrate']], [['migrate', '-h']]])('%j shows that command\'s help', async (args) => {
    const command = args.find((arg) => arg === 'start' || arg === 'migrate')
    const result = await runCli(args, {})
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^Usage: parley ${command}\n`))
    if (command === 'start') expect(result.stdout).toContain('PARLEY_REDIS_PREFIX')
  })

  it.each([
    [['serve'], 'parley: unknown command "serve"'],
    [['help', 'serve'], 'parley: no help for "serve": not a command'],
    [['start', '--port', '9000'], 'parley: start takes no arguments (got "--port")'],
  ])('%j is bad usage (exit 2)', async (args, message) => {
    const result = await runCli(args, {})
    expect(result.code).toBe(2)
    expect(result.stderr.split('\n')[0]).toBe(message)
  })
})

describe('parley start', () => {
  let parley: ParleyProcess | undefined
  let database: TestDatabase | undefined
  let dir: string | undefined
  afterEach(async () => {
    await parley?.stop()
    await database?.drop()
    if (dir) rmSync(dir, { recursive: true, force: true })
    parley = database = dir = undefined
  })
  const adminKey = randomBytes(24).toString('hex')
  const output = () => parley!.output.join('')
  const bannerShown = () => waitFor(() => output().includes('  Storage '), 5000, 'the start-up banner')

  it('prints where it listens and its SQLite file, and logs JSON lines when stdout is not a terminal', async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cli-'))
    const file = join(dir, 'parley.db')
    parley = await startProcess({ PARLEY_DATABASE_URL: `sqlite:${file}`, PARLEY_ADMIN_KEY: adminKey, PARLEY_LOG_LEVEL: 'info' })
    await bannerShown()
    const port = new URL(parley.url).port
    expect(output()).toContain(`Parley ${VERSION} is running on http://127.0.0.1:${port}\n`)
    expect(output()).toContain(`  Listening       127.0.0.1:${port}\n`)
    expect(output()).toContain(`  Storage         sqlite:${file}\n`)
    expect(output()).not.toContain('  Redis ')

    await fetch(`${parley.url}/v1/me`, { headers: { 'x-request-id': 'cli-json-1' } })
    await waitFor(() => output().includes('cli-json-1'), 5000, 'the request log line')
    const line = output().split('\n').find((l) => l.includes('cli-json-1'))!
    expect(JSON.parse(line)).toMatchObject({ requestId: 'cli-json-1', method: 'GET', route: '/v1/me', statusCode: 401, msg: 'request completed' })
  })

  it('with PARLEY_LOG_FORMAT=pretty, logs one readable line per request even when piped (no colours)', async () => {
    parley = await startProcess({ PARLEY_DATABASE_URL: 'sqlite::memory:', PARLEY_ADMIN_KEY: adminKey, PARLEY_LOG_LEVEL: 'info', PARLEY_LOG_FORMAT: 'pretty' })
    await fetch(`${parley.url}/healthz`, { headers: { 'x-request-id': 'cli-pretty-1' } })
    await waitFor(() => output().includes('cli-pretty-1'), 5000, 'the request log line')
    expect(output()).toMatch(/\n\d\d:\d\d:\d\d\.\d{3} INFO {2}GET \/healthz 200 [\d.]+ ms cli-pretty-1\n/)
    expect(output()).not.toContain(ANSI)
  })

  it.runIf(postgresUrl && redisUrl)('names PostgreSQL and Redis by host, port and database, never with a password', async () => {
    database = await createTestDatabase('postgres')
    const url = new URL(database.url)
    const password = `pw-${randomBytes(8).toString('hex')}` // the test server trusts local connections: any password works
    url.password = password
    url.searchParams.set('application_name', `parley-${password}`)
    const redis = new URL(redisUrl!)
    parley = await startProcess({
      PARLEY_DATABASE_URL: url.toString(),
      PARLEY_REDIS_URL: redisUrl!,
      PARLEY_REDIS_PREFIX: 'cli-test:',
      PARLEY_ADMIN_KEY: adminKey,
      PARLEY_SIGNING_KEK: randomBytes(32).toString('base64'),
    })
    await bannerShown()
    expect(output()).toContain(`  Storage         postgres://${url.hostname}:${url.port || 5432}${url.pathname}\n`)
    expect(output()).toContain(`  Redis           redis://${redis.hostname}:${redis.port || 6379} (prefix cli-test:)\n`)
    expect(output()).not.toContain(password)
  })
})

describe('connection URLs at start', () => {
  it.each([
    ['postgres://parley:s3cret@db.internal/parley?sslmode=require&password=x', 'postgres://db.internal:5432/parley'],
    ['postgresql://db.internal:6432/chat', 'postgresql://db.internal:6432/chat'],
    ['rediss://default:s3cret@cache.internal:6380/2', 'rediss://cache.internal:6380/2'],
    ['redis://:s3cret@127.0.0.1', 'redis://127.0.0.1:6379'],
  ])('%s is shown as %s', (url, shown) => {
    expect(displayUrl(url)).toBe(shown)
  })
})

// `script` (util-linux) gives the command a terminal, as when an operator runs it by hand.
const hasScript = spawnSync('script', ['--version']).status === 0

describe.runIf(hasScript)('parley start in a terminal', () => {
  let child: ChildProcess | undefined
  afterEach(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  })

  it('logs readable, coloured lines by default', async () => {
    const port = await freePort()
    const command = `'${process.execPath}' '${join(SERVER, 'bin', 'parley.js')}' start`
    child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...process.env, PARLEY_PORT: String(port), PARLEY_DATABASE_URL: 'sqlite::memory:', PARLEY_ADMIN_KEY: randomBytes(24).toString('hex'), PARLEY_LOG_LEVEL: 'info', PARLEY_LOG_FORMAT: '', NO_COLOR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let text = ''
    child.stdout!.on('data', (chunk) => (text += String(chunk)))
    await waitFor(() => text.includes('  Storage '), 20_000, 'the start-up banner')
    await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { 'x-request-id': 'cli-tty-1' } })
    await waitFor(() => text.includes('cli-tty-1'), 5000, 'the request log line')
    const line = text.split(/\r?\n/).find((l) => l.includes('cli-tty-1'))!
    expect(line).toContain(`${ANSI}32m200${ANSI}0m`) // the status, coloured
    expect(line.replaceAll(new RegExp(`${ESC_CHAR}\\[\\d+m`, 'g'), '')).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}GET \/healthz 200 [\d.]+ ms cli-tty-1$/)
  })
})
