/**
 * Helpers for realtime tests on a real listening Parley: open an authenticated socket and wait
 * for `ready`, pick events out of the frames received, look at an upgrade that was refused
 * (status, headers and problem+json body), and sign short-lived session tokens in-process.
 */
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { type ChatWorld, chatWorld } from './chat-world.js'
import { type TestParley, startParley } from './parley.js'
import { claimsFor, signWithParleyKey } from './session-helpers.js'
import { type TestSocket, openSocket } from './sockets.js'

// Realtime suites wait on sockets all the time: they get these here with the rest (from wait.ts).
export { sleep, waitFor } from './wait.js'

/** A socket authenticated with `Authorization: Bearer <credential>`, once `ready` arrived. */
export async function connect(url: string, credential: string): Promise<TestSocket & { ready: any }> {
  const socket = await openSocket(url, { authorization: `Bearer ${credential}` })
  const ready = await socket.next((f) => f.type === 'ready')
  return Object.assign(socket, { ready })
}

/** Frames of one event name (optionally of one conversation) received so far. */
export function eventsOf(socket: TestSocket, event: string, conversationId?: string): any[] {
  return socket.frames.filter((f) => f.type === 'event' && f.event === event && (conversationId === undefined || f.conversationId === conversationId))
}

/** The seqs of the message.created events of one conversation among received frames, in arrival order. */
export function seqsOf(frames: any[], conversationId: string): number[] {
  return frames.filter((f) => f.event === 'message.created' && f.conversationId === conversationId).map((f) => f.data.seq as number)
}

export interface Refusal {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: any
}

/**
 * Sends a WebSocket upgrade request and returns the HTTP answer when the server refuses it
 * (rejects if the server switches protocols instead).
 */
export function refusedUpgrade(url: string, headers: Record<string, string> = {}, path = '/v1/realtime'): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    })
    req.on('upgrade', (_res, socket) => {
      socket.destroy()
      reject(new Error('the upgrade was accepted'))
    })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        let body: unknown = null
        try {
          body = JSON.parse(text)
        } catch {
          body = text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

/** A genuine session token for a user of a tenant (live) that expires `seconds` from now. */
export function shortLivedToken(t: TestParley, tenantId: string, userId: string, seconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return signWithParleyKey(t, claimsFor(t, tenantId, userId, { iat: now, exp: now + seconds }))
}

/** For suites that send thousands of messages with the secret key: lifts its per-minute limit. */
export const HIGH_KEY_LIMIT = { PARLEY_PLANS: JSON.stringify({ pro: { rateLimit: { limit: 100_000, windowSeconds: 60 } } }) }

/** A Parley listening on a real port (sockets need one), with a chat world in its tenant. */
export async function listeningWorld(env: Record<string, string> = {}): Promise<{ t: TestParley; world: ChatWorld; url: string }> {
  const t = await startParley({ env })
  const world = await chatWorld(t)
  const url = await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
  return { t, world, url }
}
