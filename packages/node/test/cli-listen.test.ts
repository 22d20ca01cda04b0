/**
 * `parley listen` as a process: it forwards live events to a local receiver that verifies them
 * with verifyWebhook and the secret listen printed (the same on the next run), and loses no
 * message across a restart of Parley (the messages sent while it was reconnecting arrive too).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import type { AddressInfo } from 'node:net'
import { afterAll, expect, it } from 'vitest'
import { type ParleyProcess, freePort, startProcess } from '../../server/test/helpers/processes.js'
import { waitFor } from '../../server/test/helpers/wait.js'
import { Parley, verifyWebhook, type WebhookEvent } from '../src/index.js'
import { spawnParley } from './helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'parley-listen-'))
const cleanups: (() => Promise<unknown> | void)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  rmSync(dir, { recursive: true, force: true })
})

it('forwards signed events, with a stable secret, and loses none across a Parley restart', async () => {
  const port = await freePort()
  const serverEnv = { PARLEY_DATABASE_URL: `sqlite:${join(dir, 'parley.db')}`, PARLEY_ADMIN_KEY: `listen-test-admin-key-${'x'.repeat(20)}` }
  let server: ParleyProcess = await startProcess(serverEnv, { port })
  cleanups.push(() => server.stop())
  const created = await fetch(`${server.url}/v1/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serverEnv.PARLEY_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Listeners' }),
  }).then((res) => res.json())
  const apiKey: string = created.keys.live.key
  const sdk = new Parley({ apiKey, apiUrl: server.url })
  await sdk.users.upsert({ id: 'ann' })
  await sdk.users.upsert({ id: 'bob' })
  const { id } = await sdk.conversations.create({ type: 'group', members: ['ann', 'bob'] })

  let secret = ''
  const received: WebhookEvent<{ seq: number; text: string }>[] = []
  const app = express()
  app.post('/hooks', express.raw({ type: '*/*' }), (req, res) => {
    try {
      received.push(verifyWebhook(req.body, req.headers, secret))
      res.sendStatus(204)
    } catch {
      res.sendStatus(400)
    }
  })
  const receiver = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => receiver.once('listening', resolve))
  cleanups.push(() => new Promise((resolve) => receiver.close(resolve)))
  const forwardTo = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`

  const env = { PARLEY_API_URL: server.url, PARLEY_API_KEY: apiKey, XDG_CONFIG_HOME: dir }
  const listen = spawnParley(['listen', '--forward-to', forwardTo, '--events', 'message.created'], env)
  cleanups.push(() => void listen.stop())
  await waitFor(() => listen.stderr.some((line) => line.includes('listening')), 10_000, 'listen to connect')
  secret = /signed with (whsec_\S+)/.exec(listen.stderr.join('\n'))![1]!

  await sdk.messages.send(id, { senderId: 'ann', text: 'one' })
  await waitFor(() => received.length === 1, 10_000, 'the first forward')
  expect(received[0]).toMatchObject({ type: 'message.created', tenantId: created.tenant.id, environment: 'live', data: { seq: 1, text: 'one' } })
  await waitFor(() => listen.stdout.length === 1, 5_000, 'the line of the first forward')
  expect(listen.stdout[0]).toMatch(/^message\.created\s+conv_\S+\s+→ 204$/)

  await server.stop()
  // Three failed reconnects: the next wait is 2 to 4 s, longer than Parley takes to start.
  const disconnects = () => listen.stderr.filter((line) => line.includes('disconnected')).length
  await waitFor(() => disconnects() >= 3, 15_000, 'listen to retry')
  server = await startProcess(serverEnv, { port })
  // Sent while listen is still waiting to reconnect: only the catch-up can bring these.
  await sdk.messages.send(id, { senderId: 'bob', text: 'two' })
  await sdk.messages.send(id, { senderId: 'ann', text: 'three' })
  expect(listen.stderr.filter((line) => line.includes('reconnected'))).toEqual([])
  await waitFor(() => received.length >= 3, 30_000, 'the messages sent during the restart')
  await sdk.messages.send(id, { senderId: 'bob', text: 'four' })
  await waitFor(() => received.length >= 4, 10_000, 'a live message after the reconnect')
  expect(received.map((event) => [event.data.seq, event.data.text])).toEqual([[1, 'one'], [2, 'two'], [3, 'three'], [4, 'four']])
  expect(await listen.stop()).toBe(0)

  const again = spawnParley(['listen', '--forward-to', forwardTo], env)
  cleanups.push(() => void again.stop())
  await waitFor(() => again.stderr.some((line) => line.includes('signed with')), 10_000, 'the second run to print its secret')
  expect(again.stderr.join('\n')).toContain(`signed with ${secret}`)
  await again.stop()
})
