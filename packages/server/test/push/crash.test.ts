/**
 * Durability as users run Parley: a `parley start` process killed with SIGKILL while a burst of
 * pushes is pending (some in flight, the rest queued), then started again on the same database.
 * Every notification is sent; one that was queued is sent exactly once; only those in flight at the
 * kill, whose answers were lost, are sent again (under the same collapse id, so the phone shows
 * one), and the log ends with one `sent` record per notification.
 *
 * These start the build in dist/ (`npm run build`).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ENGINES, createDurableDatabase } from '../helpers/databases.js'
import { type ParleyProcess, startProcess } from '../helpers/processes.js'
import { sleep, waitFor } from '../helpers/wait.js'
import { type ApnsFake, makeApnsKey, startApnsFake } from './fakes/apns.js'

const RECIPIENTS = 150
/** How long the fake takes to answer: sends are in flight when the node dies. */
const ANSWER_DELAY_MS = 400
const adminKey = `push_crash_${randomBytes(16).toString('hex')}`
const cleanup: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

async function call(node: ParleyProcess, method: string, path: string, auth: string, body?: unknown) {
  const res = await fetch(node.url + path, {
    method,
    headers: { authorization: `Bearer ${auth}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const json = (await res.json().catch(() => null)) as any
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`)
  return json
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-push-crash-'))
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

for (const engine of ENGINES) {
  describe(`a node killed with pushes pending, on ${engine}`, () => {
    it('sends every notification after a restart, each queued one once', { timeout: 120_000 }, async () => {
      const database = await createDurableDatabase(engine)
      cleanup.push(() => database.drop())
      const key = makeApnsKey()
      const settings = { teamId: 'TEAM123456', keyId: 'KEY1234567', bundleId: 'com.example.chat', production: false, privateKey: key.privateKey }
      const apns: ApnsFake = await startApnsFake({ publicKey: key.publicKey, teamId: settings.teamId, keyId: settings.keyId, bundleId: settings.bundleId })
      cleanup.push(() => apns.close())
      apns.answers.otherwise = { status: 200, delayMs: ANSWER_DELAY_MS }
      const env = {
        PARLEY_DATABASE_URL: database.url,
        PARLEY_DATA_DIR: tempDir(),
        PARLEY_ADMIN_KEY: adminKey,
        PARLEY_APNS_URL: apns.url,
        // A short deadline keeps the claim (twice it plus 10 s) short: how long a dead node's pushes wait.
        PARLEY_PUSH_TIMEOUT_MS: '1000',
      }

      const first = await startProcess(env)
      cleanup.push(() => first.kill())
      const tenant = await call(first, 'POST', '/v1/admin/tenants', adminKey, { name: 'Crash', plan: 'enterprise' })
      const secret = tenant.keys.live.key as string
      await call(first, 'PUT', '/v1/push/providers/apns', secret, settings)
      const tokens = new Map<string, string>()
      await call(first, 'POST', '/v1/users', secret, { id: 'sender' })
      for (let i = 0; i < RECIPIENTS; i++) {
        const userId = `member-${i}`
        const token = randomBytes(32).toString('hex')
        await call(first, 'POST', '/v1/users', secret, { id: userId })
        await call(first, 'POST', `/v1/users/${userId}/devices`, secret, { provider: 'apns', token })
        tokens.set(token, userId)
      }
      const conversation = await call(first, 'POST', '/v1/conversations', secret, { type: 'group', members: ['sender', ...tokens.values()] })
      const message = await call(first, 'POST', `/v1/conversations/${conversation.id}/messages`, secret, { senderId: 'sender', text: 'everyone, now' })

      // Killed while the first sends wait for their answers and the rest wait in the queue.
      await apns.waitFor(10, 30_000)
      await first.kill()
      const killedAt = Date.now()
      const inFlight = apns.requests.filter((r) => r.at > killedAt - ANSWER_DELAY_MS - 50).length
      const before = apns.requests.length
      expect(before).toBeLessThan(RECIPIENTS)

      const second = await startProcess(env)
      cleanup.push(() => second.stop())
      const reached = () => new Set(apns.requests.map((r) => r.deviceToken))
      await waitFor(() => reached().size === RECIPIENTS, 60_000, 'every device reached')
      await sleep(2 * ANSWER_DELAY_MS)

      const byDevice = new Map<string, typeof apns.requests>()
      for (const request of apns.requests) byDevice.set(request.deviceToken, [...(byDevice.get(request.deviceToken) ?? []), request])
      const repeated = [...byDevice.values()].filter((requests) => requests.length > 1)
      // Only a send that was in flight (made before the kill) is made again, once.
      expect(repeated.length).toBeLessThanOrEqual(inFlight)
      for (const requests of repeated) {
        expect(requests).toHaveLength(2)
        expect(requests[0]!.at).toBeLessThan(killedAt)
        expect(requests[1]!.headers['apns-collapse-id']).toBe(requests[0]!.headers['apns-collapse-id'])
      }
      expect(apns.requests).toHaveLength(RECIPIENTS + repeated.length)
      expect(new Set(apns.requests.map((r) => r.headers['apns-collapse-id']))).toEqual(new Set([message.id]))

      // The log agrees: one record per notification, each sent.
      let log: any[] = []
      for (let i = 0; i < 100; i++) {
        log = (await call(second, 'GET', '/v1/push/deliveries?limit=200', secret)).data
        if (log.length === RECIPIENTS && log.every((r) => r.status === 'sent')) break
        await sleep(100)
      }
      expect(log).toHaveLength(RECIPIENTS)
      expect(log.filter((r) => r.status === 'sent')).toHaveLength(RECIPIENTS)
      expect(new Set(log.map((r) => r.userId))).toEqual(new Set(tokens.values()))
    })
  })
}
