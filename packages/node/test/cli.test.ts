/**
 * The client commands of `parley` run as processes against a real Parley: output (table and
 * --json), exit codes, errors on stderr with code and request id, and keys never echoed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatWorld } from '../../server/test/helpers/chat-world.js'
import type { TestParley } from '../../server/test/helpers/parley.js'
import { listeningWorld } from '../../server/test/helpers/realtime.js'
import { waitFor } from '../../server/test/helpers/wait.js'
import { Parley } from '../src/index.js'
import { parley, spawnParley } from './helpers/cli.js'

let t: TestParley
let world: ChatWorld
let url: string
let env: Record<string, string>

beforeAll(async () => {
  ;({ t, world, url } = await listeningWorld({ PARLEY_WEBHOOK_ALLOW_PRIVATE: 'true' }))
  env = { PARLEY_API_URL: url, PARLEY_API_KEY: world.key }
})
afterAll(() => t?.close())

describe('usage and failures', () => {
  it('exits 2 with a clear message without a key, for an unknown command or flag, or a missing argument', async () => {
    const noKey = await parley(['users', 'list'], { PARLEY_API_URL: url })
    expect(noKey.code).toBe(2)
    expect(noKey.stderr).toContain('no API key: set PARLEY_API_KEY or pass --api-key')
    expect((await parley(['users', 'frobnicate'], env)).code).toBe(2)
    const unknownFlag = await parley(['users', 'list', '--colour'], env)
    expect([unknownFlag.code, unknownFlag.stderr]).toEqual([2, expect.stringContaining('unknown option --colour')])
    const missing = await parley(['users', 'get'], env)
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('missing ID')])
  })

  it('exits 3 when Parley cannot be reached, 1 with code and request id when the API refuses', async () => {
    const down = await parley(['users', 'list'], { PARLEY_API_URL: 'http://127.0.0.1:9', PARLEY_API_KEY: world.key })
    expect(down.code).toBe(3)
    expect(down.stderr).toMatch(/^error: connection_failed: /)
    const missing = await parley(['users', 'get', 'nobody'], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^error: not_found: .+ \(request req_\w+\)\n$/)
    expect(missing.stdout).toBe('')
  })

  it('answers --help on every command with exit 0', async () => {
    for (const args of [['keys', 'create', '--help'], ['help', 'keys'], ['tail', '--help'], ['listen', '--help'], ['webhooks', '--help'], ['--help']]) {
      const help = await parley(args, {})
      expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('parley')])
    }
  })
})

describe('commands', () => {
  it('users: upsert, list, get (table and --json), revoke-tokens, delete', async () => {
    const upserted = await parley(['users', 'upsert', 'cli-ann', '--display-name', 'Ann'], env)
    expect([upserted.code, upserted.stdout]).toEqual([0, expect.stringMatching(/^Created user cli-ann\n/)])
    const table = await parley(['users', 'list'], env)
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+DISPLAYNAME\s+USERNAME\s+KIND\s+CREATEDAT$/)
    expect(table.stdout).toMatch(/\ncli-ann\s+Ann\s+-\s+user\s/)
    const json = await parley(['users', 'get', 'cli-ann', '--json'], env)
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'cli-ann', displayName: 'Ann', kind: 'user' })
    expect((await parley(['users', 'revoke-tokens', 'cli-ann'], env)).code).toBe(0)
    expect((await parley(['users', 'delete', 'cli-ann'], env)).stdout).toBe('Deleted user cli-ann\n')
    expect((await parley(['users', 'get', 'cli-ann'], env)).code).toBe(1)
  })

  it('token create prints a working session token', async () => {
    await world.users('cli-bob')
    const created = await parley(['token', 'create', '--user', 'cli-bob', '--expires-in', '120', '--json'], env)
    const { token } = JSON.parse(created.stdout)
    expect((await fetch(`${url}/v1/identity/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
  })

  it('keys: create prints the plaintext once; list, get, usage, roll and revoke never print a key', async () => {
    const created = await parley(['keys', 'create', '--name', 'ci', '--scopes', 'users:read,events:read', '--json'], env)
    const key = JSON.parse(created.stdout)
    expect(key).toMatchObject({ name: 'ci', scopes: ['users:read', 'events:read'], key: expect.stringMatching(/^sk_live_/) })
    const outputs = [
      await parley(['keys', 'list'], env),
      await parley(['keys', 'list', '--json'], env),
      await parley(['keys', 'get', key.id], env),
      await parley(['keys', 'usage', key.id, '--granularity', 'day'], env),
    ]
    for (const output of outputs) {
      expect(output.code).toBe(0)
      expect(output.stdout).not.toContain(key.key)
      expect(output.stdout + output.stderr).not.toContain(world.key)
    }
    expect(outputs[0]!.stdout).toMatch(new RegExp(`\\n${key.id}\\s+ci\\s+secret\\s+live\\s+sk_live_`))
    const rolled = await parley(['keys', 'roll', key.id, '--grace', '60'], env)
    expect(rolled.stdout).toMatch(/\nkey\s+sk_live_\w+\n/)
    const newId = /^id\s+(\S+)$/m.exec(rolled.stdout)![1]!
    expect((await parley(['keys', 'revoke', newId], env)).stdout).toMatch(/status\s+revoked/)
  })

  it('tenants: create and list with the admin key; a secret key gets exit 1', async () => {
    const admin = { PARLEY_API_URL: url, PARLEY_API_KEY: t.adminKey }
    const created = await parley(['tenants', 'create', '--name', 'Globex', '--plan', 'starter'], admin)
    expect(created.code).toBe(0)
    expect(created.stdout).toMatch(/live key\s+sk_live_\w+\ntest key\s+sk_test_\w+/)
    expect((await parley(['tenants', 'list'], admin)).stdout).toMatch(/Globex\s+starter/)
    expect((await parley(['tenants', 'list'], env)).code).toBe(1)
  })

  it('webhooks: create, list, test, deliveries', async () => {
    const result = await parley(['webhooks', 'create', '--url', 'http://127.0.0.1:9/hooks', '--events', 'webhook.test', '--json'], env)
    expect(result.stderr).toBe('')
    const created = JSON.parse(result.stdout)
    expect(created).toMatchObject({ url: 'http://127.0.0.1:9/hooks', events: ['webhook.test'], secret: expect.stringMatching(/^whsec_/) })
    const listed = await parley(['webhooks', 'list'], env)
    expect(listed.stderr).toBe('')
    expect(listed.stdout).toContain(created.id)
    expect((await parley(['webhooks', 'test', created.id], env)).stdout).toMatch(/^Queued test event evt_/)
    const deliveries = await parley(['webhooks', 'deliveries', created.id, '--json'], env)
    expect(JSON.parse(deliveries.stdout)).toHaveProperty('data')
  })
})

describe('tail', () => {
  it('prints a message sent by another process, one event per line with --json, and stops on Ctrl-C', async () => {
    const tail = spawnParley(['tail', '--json', '--events', 'message.created'], env)
    const human = spawnParley(['tail'], env)
    for (const one of [tail, human]) await waitFor(() => one.stderr.some((line) => line.includes('listening')), 10_000, 'tail to connect')
    await world.users('tail-a', 'tail-b')
    const sdk = new Parley({ apiKey: world.key, apiUrl: url })
    const { id } = await sdk.conversations.create({ type: 'group', members: ['tail-a', 'tail-b'] })
    await sdk.messages.send(id, { senderId: 'tail-a', text: 'seen by tail' })
    await waitFor(() => tail.stdout.length > 0, 10_000, 'the event on stdout')
    expect(JSON.parse(tail.stdout[0]!)).toMatchObject({ event: 'message.created', conversationId: id, data: { text: 'seen by tail', seq: 1 } })
    expect(await tail.stop()).toBe(0)
    await waitFor(() => human.stdout.some((line) => line.includes('message.created')), 10_000, 'the human line')
    expect(human.stdout.find((line) => line.includes('message.created'))).toMatch(new RegExp(`^\\S+Z\\s+message\\.created\\s+${id}\\s+tail-a: seen by tail$`))
    expect(await human.stop()).toBe(0)
  })

  it('exits 1 naming the scope when the key lacks events:read', async () => {
    const { key } = await new Parley({ apiKey: world.key, apiUrl: url }).keys.create({ name: 'no-events', type: 'secret', scopes: ['users:read'] })
    const refused = await parley(['tail'], { PARLEY_API_URL: url, PARLEY_API_KEY: key })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^error: insufficient_scope: .*events:read/m)
  })
})
