/**
 * A tenant ready for chat tests: users upserted with its secret key, session tokens minted for
 * them, visitors opened with a publishable key, and shortcuts for the calls tests make most.
 */
import type { InjectOptions } from 'fastify'
import type { Response, TestParley, TestTenant } from './parley.js'

type Method = InjectOptions['method']

export interface ChatWorld {
  t: TestParley
  tenant: TestTenant
  /** The live secret key. */
  key: string
  /** Upserts users (live) with the secret key. */
  users(...ids: string[]): Promise<void>
  /** A session token for a user (upserting it first). */
  token(userId: string, options?: { environment?: 'live' | 'test'; scopes?: string[] }): Promise<string>
  /** A visitor session opened with a publishable key of this tenant. */
  visitor(visitorId: string): Promise<{ id: string; token: string }>
  /** A call with the live secret key. */
  secret(method: Method, url: string, body?: unknown): Promise<Response>
  /** A call with a session token (or any other bearer credential). */
  as(auth: string, method: Method, url: string, body?: unknown): Promise<Response>
  /** A group conversation created with the secret key; returns its id. */
  group(members: string[], extra?: Record<string, unknown>): Promise<string>
  /** A message sent with the secret key on behalf of `senderId`; returns the message. */
  send(conversationId: string, senderId: string, text?: string): Promise<any>
}

export async function chatWorld(t: TestParley): Promise<ChatWorld> {
  const tenant = await t.createTenant()
  const key = tenant.liveKey
  let publishable: string | null = null

  const expectStatus = (res: Response, status: number[], what: string) => {
    if (!status.includes(res.status)) throw new Error(`${what} failed: ${res.status} ${res.text}`)
    return res
  }
  const secret: ChatWorld['secret'] = (method, url, body) => t.call(method, url, { auth: key, body })
  const as: ChatWorld['as'] = (auth, method, url, body) => t.call(method, url, { auth, body })

  const upsert = async (id: string, secretKey: string) =>
    expectStatus(await t.call('POST', '/v1/users', { auth: secretKey, body: { id } }), [200, 201], `upsert ${id}`)

  const world: ChatWorld = {
    t,
    tenant,
    key,
    secret,
    as,
    users: async (...ids) => {
      for (const id of ids) await upsert(id, key)
    },
    token: async (userId, { environment = 'live', scopes } = {}) => {
      const secretKey = environment === 'live' ? key : tenant.testKey
      await upsert(userId, secretKey)
      const body = { userId, ...(scopes && { scopes }) }
      const res = expectStatus(await t.call('POST', '/v1/auth/token', { auth: secretKey, body }), [201], `token ${userId}`)
      return res.body.token as string
    },
    visitor: async (visitorId) => {
      if (publishable === null) {
        const res = await secret('POST', '/v1/keys', { name: 'widget', type: 'publishable' })
        publishable = expectStatus(res, [201], 'publishable key').body.key as string
      }
      const res = await t.call('POST', '/v1/identity/init', { body: { apiKey: publishable, visitorId } })
      expectStatus(res, [201], `visitor ${visitorId}`)
      return { id: res.body.visitor.id as string, token: res.body.sessionToken as string }
    },
    group: async (members, extra = {}) => {
      const res = await secret('POST', '/v1/conversations', { type: 'group', members, ...extra })
      return expectStatus(res, [201], 'create group').body.id as string
    },
    send: async (conversationId, senderId, text = `hello from ${senderId}`) => {
      const res = await secret('POST', `/v1/conversations/${conversationId}/messages`, { text, senderId })
      return expectStatus(res, [201], 'send').body
    },
  }
  return world
}

/** Every row of a table for one conversation, through the test's own storage handle. */
export async function rowsOf(t: TestParley, table: 'messages' | 'events' | 'members', conversationId: string) {
  return t.parley.store.db.selectFrom(table).selectAll().where('conversation_id', '=', conversationId).execute()
}
