/**
 * Clients of a real Parley for the SDK suites: a `Parley` whose tokenProvider mints session tokens
 * the way a session route does (upsert the user, then `POST /v1/auth/token` with the secret key),
 * and a recorder of everything its listeners receive.
 */
import { EVENT_NAMES } from '@parley/protocol/realtime'
import WebSocket from 'ws'
import { Parley } from '../../src/index.js'
import type { ConnectionState, ParleyError, ParleyEvent, ParleyOptions } from '../../src/index.js'

export { sleep, waitFor } from '../../../server/test/helpers/wait.js'

/** What a session route does, over HTTP: upsert the user, mint a token. */
export async function mintToken(url: string, secretKey: string, userId: string, expiresIn = 3600): Promise<{ token: string; expiresAt: string }> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    return res.json()
  }
  await post('/v1/users', { id: userId })
  return post('/v1/auth/token', { userId, expiresIn })
}

export interface TestClient {
  parley: Parley
  /** Every token the provider handed out, in order. */
  tokens: string[]
  events: ParleyEvent[]
  states: ConnectionState[]
  errors: ParleyError[]
  /** The seqs of the message.created events of one conversation, in delivery order. */
  seqs(conversationId: string): number[]
}

/** A Parley client for `userId`, its tokens minted with `secretKey`; extra options override the defaults. */
export function clientFor(url: string, secretKey: string, userId: string, extra: Partial<ParleyOptions> & { expiresIn?: number } = {}): TestClient {
  const tokens: string[] = []
  const { expiresIn, ...options } = extra
  const parley = new Parley({
    apiUrl: url,
    WebSocket,
    tokenProvider: async () => {
      const grant = await mintToken(url, secretKey, userId, expiresIn)
      tokens.push(grant.token)
      return grant
    },
    ...options,
  })
  return { ...record(parley), parley, tokens }
}

/** Records everything a client's listeners receive. */
export function record(parley: Parley): Omit<TestClient, 'parley' | 'tokens'> {
  const events: ParleyEvent[] = []
  const states: ConnectionState[] = []
  const errors: ParleyError[] = []
  for (const name of EVENT_NAMES) parley.on(name, (event) => events.push(event))
  parley.on('state', (state) => states.push(state))
  parley.on('error', (error) => errors.push(error))
  const seqs = (conversationId: string) =>
    events.filter((e) => e.event === 'message.created' && e.conversationId === conversationId).map((e) => e.data.seq as number)
  return { events, states, errors, seqs }
}

/** 1..n */
export const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)
