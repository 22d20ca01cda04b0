/**
 * `parley tail` and `parley listen`: the tenant's live events over the WebSocket with a secret key
 * (`events:read`), printed or forwarded as signed webhook deliveries. The socket reconnects with
 * backoff; secret-key sockets cannot `resume` (API.md §6), so after a reconnect the messages
 * created meanwhile are fetched over REST and emitted before new ones: no message.created is lost.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CLOSE } from '@parley/protocol/realtime'
import { AuthenticationError, PermissionError } from '@parley/protocol/errors'
import type { Parley } from '../parley.js'
import { UsageError, list } from './args.js'

/** A `ws`-compatible WebSocket constructor: headers on the upgrade are needed for the secret key. */
export type WebSocketLike = new (url: string, options: { headers: Record<string, string> }) => {
  on(event: 'message', listener: (data: unknown) => void): void
  on(event: 'close', listener: (code: number, reason: unknown) => void): void
  on(event: 'error', listener: (error: Error) => void): void
  on(event: 'open', listener: () => void): void
  close(): void
}

export interface StreamIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: Record<string, string | undefined>
  WebSocket?: WebSocketLike
  /** Resolves when the command should stop (Ctrl-C); tests resolve it to end a stream. */
  stopped?: Promise<void>
}

interface StreamContext {
  parley: Parley
  apiKey: string
  args: string[]
  flags: Record<string, string | true>
}

export interface StreamCommand {
  help: string
  args?: string[]
  valued?: string[]
  switches?: string[]
  stream(context: StreamContext, io: StreamIo): Promise<number>
}

/** A §6 event as `tail --json` prints it. */
interface LiveEvent {
  event: string
  conversationId?: string
  data: any
}

/** Scopes that grant events:read (API.md §1.4 patterns). */
const EVENTS_READ = ['events:read', 'events:*', '*:read']

const FATAL_CLOSES: number[] = [CLOSE.unauthorized, CLOSE.tokenRevoked, CLOSE.forbidden]

/**
 * Calls `onEvent` for every live event until `io.stopped`, reconnecting (0.5 s … 20 s) and filling
 * the message.created gap of a reconnect from REST. Returns the exit code.
 */
async function follow(context: StreamContext, io: StreamIo, onEvent: (event: LiveEvent) => Promise<void>): Promise<number> {
  if (!io.WebSocket) throw new UsageError('this command needs a WebSocket (run it through the parley command)')
  const WebSocket = io.WebSocket
  const wanted = list(context.flags.events)
  const lastSeq = new Map<string, number>()
  let disconnectedAt: string | null = null
  let stop = false
  void io.stopped?.then(() => (stop = true))

  // Events go out one at a time, in arrival order (a forward waits for the previous one).
  let queue = Promise.resolve()
  const emit = (event: LiveEvent) => {
    if (event.event.startsWith('message.') && event.conversationId && typeof event.data?.seq === 'number') {
      if (event.event === 'message.created') {
        if ((lastSeq.get(event.conversationId) ?? 0) >= event.data.seq) return
        lastSeq.set(event.conversationId, event.data.seq)
      }
    }
    if (wanted && !wanted.includes(event.event)) return
    queue = queue.then(() => onEvent(event)).catch((error) => io.stderr(`parley: ${String(error?.message ?? error)}\n`))
  }

  const url = `${context.parley.apiUrl.replace(/^http/, 'ws')}/v1/realtime`
  for (let attempt = 0; !stop; ) {
    const outcome = await new Promise<{ code: number; opened: boolean }>((resolve) => {
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${context.apiKey}` } })
      let opened = false
      const done = (code: number) => resolve({ code, opened })
      void io.stopped?.then(() => socket.close())
      socket.on('message', (raw) => {
        const frame = JSON.parse(String(raw))
        if (frame.type === 'ready') {
          opened = true
          attempt = 0
          io.stderr(disconnectedAt ? 'parley: reconnected\n' : `parley: listening for events on ${context.parley.apiUrl} (Ctrl-C to stop)\n`)
          if (disconnectedAt) void catchUp(context.parley, lastSeq, disconnectedAt, emit).catch((error) => io.stderr(`parley: could not fetch missed messages: ${error.message}\n`))
          disconnectedAt = null
        } else if (frame.type === 'event') {
          emit({ event: frame.event, ...(frame.conversationId && { conversationId: frame.conversationId }), data: frame.data })
        }
      })
      socket.on('error', () => undefined)
      socket.on('close', (code) => done(code))
    })
    if (stop) break
    if (FATAL_CLOSES.includes(outcome.code) || (!outcome.opened && (await refused(context.parley)))) return 1
    disconnectedAt ??= new Date().toISOString()
    const delay = Math.min(20_000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2)
    io.stderr(`parley: disconnected, reconnecting in ${(delay / 1000).toFixed(1)} s\n`)
    await Promise.race([new Promise((resolve) => setTimeout(resolve, delay)), io.stopped])
  }
  await queue
  return 0

  /** A refused upgrade (bad key, no events:read) is final: say why, with the REST answer's error. */
  async function refused(parley: Parley): Promise<boolean> {
    let me: { key?: { scopes?: string[] } }
    try {
      me = await parley.request({ method: 'GET', path: '/v1/me' })
    } catch (error) {
      if (error instanceof AuthenticationError || error instanceof PermissionError) throw error
      return false
    }
    const scopes = me.key?.scopes ?? []
    if (scopes.length > 0 && !scopes.some((scope) => EVENTS_READ.includes(scope))) {
      throw new PermissionError({ status: 403, code: 'insufficient_scope', detail: 'tail and listen need a key with the events:read scope' })
    }
    return false
  }
}

/** The message.created events of the conversations active since `since`, above the last seq seen. */
async function catchUp(parley: Parley, lastSeq: Map<string, number>, since: string, emit: (event: LiveEvent) => void): Promise<void> {
  for (let cursor: string | undefined; ; ) {
    const page = await parley.conversations.list({ limit: 200, ...(cursor && { cursor }) })
    for (const conversation of page.data) {
      const activeAt = conversation.lastMessage?.createdAt ?? conversation.updatedAt
      if (activeAt < since && !lastSeq.has(conversation.id)) continue
      for (let after = lastSeq.get(conversation.id) ?? 0; after < conversation.lastSeq; ) {
        const history = await parley.messages.list(conversation.id, { after, limit: 200 })
        for (const message of history.data) emit({ event: 'message.created', conversationId: conversation.id, data: message })
        if (!history.hasMore || history.data.length === 0) break
        after = history.data.at(-1)!.seq
      }
    }
    const oldest = page.data.at(-1)
    if (!page.nextCursor || !oldest || (oldest.lastMessage?.createdAt ?? oldest.updatedAt) < since) return
    cursor = page.nextCursor
  }
}

function summary(event: LiveEvent): string {
  const data = event.data ?? {}
  const what = typeof data.text === 'string' ? `${data.senderId ?? ''}: ${data.text}` : data.id ?? data.userId ?? ''
  return `${new Date().toISOString()}  ${event.event.padEnd(20)}  ${event.conversationId ?? '-'}  ${what}\n`
}

/** The `whsec_` secret of `listen` on this machine, created on the first run. */
function listenSecret(env: Record<string, string | undefined>): string {
  const dir = join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'parley')
  const file = join(dir, 'listen-secret')
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const secret = `whsec_${randomBytes(32).toString('base64')}`
    writeFileSync(file, `${secret}\n`, { mode: 0o600 })
    chmodSync(file, 0o600)
    return secret
  }
}

/** Standard Webhooks v1 headers for `body` (API.md §7), as Parley's deliveries carry them. */
function signedHeaders(secret: string, id: string, body: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` }
}

export const STREAMS: Record<string, StreamCommand> = {
  tail: {
    help: 'parley tail [--events a,b]\n\nPrints the live events of the key\'s tenant and environment (the key needs events:read); --json prints one event object per line.',
    valued: ['events'],
    stream: (context, io) => follow(context, io, async (event) => io.stdout(context.flags.json ? `${JSON.stringify(event)}\n` : summary(event))),
  },
  listen: {
    help: 'parley listen --forward-to URL [--events a,b]\n\nForwards live events to URL exactly like webhook deliveries, signed with this machine\'s\nlisten secret (printed at start, the same on every run), and prints each with the local status.',
    valued: ['forward-to', 'events'],
    async stream(context, io) {
      const target = context.flags['forward-to']
      if (typeof target !== 'string') throw new UsageError('--forward-to is required')
      const me = await context.parley.request<{ tenant: { id: string }; environment: string }>({ method: 'GET', path: '/v1/me' })
      const secret = listenSecret(io.env)
      io.stderr(`parley: forwarding to ${target}, signed with ${secret}\n`)
      return follow(context, io, async (event) => {
        const id = `evt_cli_${randomBytes(12).toString('hex')}`
        const body = JSON.stringify({ type: event.event, id, timestamp: new Date().toISOString(), tenantId: me.tenant.id, environment: me.environment, data: event.data })
        let status: number | string
        try {
          const answer = await fetch(target, { method: 'POST', headers: signedHeaders(secret, id, body), body, redirect: 'manual', signal: AbortSignal.timeout(15_000) })
          status = answer.status
        } catch (error) {
          status = `failed (${(error as Error).message})`
        }
        io.stdout(context.flags.json ? `${JSON.stringify({ event: JSON.parse(body), status })}\n` : `${event.event.padEnd(20)}  ${event.conversationId ?? '-'}  → ${status}\n`)
      })
    },
  },
}
