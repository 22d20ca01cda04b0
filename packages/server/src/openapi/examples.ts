/**
 * Request and response examples of the OpenAPI document, by operationId: the calls of the
 * quickstart and the API guide (docs/), with their answers. test/openapi.test.ts validates each
 * one against the schema it illustrates, and refuses an operationId that does not exist.
 */
import type { Document, Media } from './document.js'

interface Examples {
  request?: unknown
  responses?: Record<number, unknown>
}

const at = '2026-05-30T12:00:00.000Z'
const later = '2026-05-30T13:00:00.000Z'
const tenant = { id: 'ten_8fJq2LmN4pRs6TuV8wXy0z', name: 'Acme', plan: 'starter', rateLimit: null, suspended: false, createdAt: at, updatedAt: at }
const key = {
  id: 'key_3kTq9w2XbZ7yV1mN8pLr4a',
  name: 'Reporting job',
  type: 'secret',
  environment: 'test',
  display: 'sk_test_Ab3x…9fQ2',
  scopes: ['*:read'],
  status: 'active',
  createdAt: at,
  lastUsedAt: null,
  expiresAt: '2030-01-01T00:00:00.000Z',
  allowedOrigins: null,
  visitorTtlSeconds: null,
  rateLimit: null,
  metadata: { team: 'data' },
}
// Plaintext keys elided, as in the guides: a real one is the prefix, 32 random characters and a checksum.
const secret = 'sk_test_Ab3x…9fQ2'
const alice = { id: 'alice', username: null, displayName: 'Alice', avatarUrl: null, metadata: null, kind: 'user', createdAt: at, updatedAt: at }
const message = {
  id: 'msg_0Vbnvp9cxw3yugBtv78hx9iTC',
  conversationId: 'conv_4hG7kL2mP9qR3sT6vW8xZ1',
  seq: 1,
  senderId: 'alice',
  text: 'Hi Bob!',
  metadata: null,
  clientMessageId: 'c-0001',
  createdAt: at,
  editedAt: null,
  deletedAt: null,
}
const conversation = {
  id: 'conv_4hG7kL2mP9qR3sT6vW8xZ1',
  type: 'direct',
  name: null,
  metadata: null,
  lastSeq: 0,
  lastMessage: null,
  unreadCount: 0,
  createdAt: at,
  updatedAt: at,
  lastActivityAt: at,
  members: [
    { userId: 'alice', role: 'owner', joinedAt: at, lastReadSeq: 0 },
    { userId: 'bob', role: 'member', joinedAt: at, lastReadSeq: 0 },
  ],
}
const token = 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InNpZ18ySjdrTDltUDRxUjhzVDN2In0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'

export const EXAMPLES: Record<string, Examples> = {
  'admin.tenants.create': {
    request: { name: 'Acme', plan: 'starter' },
    responses: {
      201: {
        tenant,
        keys: {
          live: { ...key, id: 'key_7pLm2Nq4Rs6Tu8Vw0Xy2Za', name: 'Default', environment: 'live', display: 'sk_live_Qw3e…7uI9', scopes: [], expiresAt: null, metadata: null, key: 'sk_live_Qw3e…7uI9' },
          test: { ...key, name: 'Default', display: 'sk_test_Ab3x…9fQ2', scopes: [], expiresAt: null, metadata: null, key: secret },
        },
      },
    },
  },
  'keys.create': {
    request: { name: 'Reporting job', type: 'secret', scopes: ['*:read'], expiresAt: '2030-01-01T00:00:00.000Z', metadata: { team: 'data' } },
    responses: { 201: { ...key, key: secret } },
  },
  'keys.roll': {
    request: { expiresInSeconds: 86400 },
    responses: { 201: { ...key, id: 'key_9sDf4Gh6Jk8Lz0Xc2Vb4Nm', display: 'sk_test_Zx9c…4vB7', key: 'sk_test_Zx9c…4vB7' } },
  },
  'users.upsert': { request: { id: 'alice', displayName: 'Alice' }, responses: { 201: alice } },
  'tokens.create': {
    request: { userId: 'alice', expiresIn: 3600, scopes: ['conversations:read', 'messages:read', 'messages:write'] },
    responses: { 201: { token, expiresAt: later } },
  },
  'identity.init': {
    request: { visitorId: 'device-7f3a', profile: { name: 'Guest', email: 'guest@example.com' } },
    responses: {
      201: {
        sessionToken: token,
        expiresAt: '2026-05-30T12:30:00.000Z',
        visitor: { ...alice, id: 'vis_5tY7uI9oP1aS3dF5gH7jK9', displayName: 'Guest', kind: 'visitor', visitorId: 'device-7f3a', email: 'guest@example.com' },
      },
    },
  },
  'identity.me': { responses: { 200: { user: alice, tenant: { id: tenant.id, name: tenant.name }, expiresAt: later } } },
  'conversations.create': { request: { type: 'direct', members: ['bob'] }, responses: { 201: conversation } },
  'conversations.messages.send': { request: { text: 'Hi Bob!', clientMessageId: 'c-0001' }, responses: { 201: message } },
  'conversations.messages.list': { responses: { 200: { data: [message], hasMore: false } } },
  'conversations.markRead': {
    request: { seq: 1 },
    responses: { 200: { conversationId: conversation.id, userId: 'bob', lastReadSeq: 1, unreadCount: 0 } },
  },
  'me.unread': { responses: { 200: { total: 1, conversations: [{ id: conversation.id, unreadCount: 1 }] } } },
  'alerts.replace': {
    request: { errorRate: { percent: 5, minRequests: 100 }, nearLimit: { percent: 80 } },
    responses: { 200: { errorRate: { percent: 5, minRequests: 100 }, nearLimit: { percent: 80 } } },
  },
  'security.leakedKeys.report': {
    request: [{ token: 'sk_live_Qw3e…7uI9', type: 'parley_secret_key', url: 'https://github.com/acme/app/blob/abc123/.env', source: 'content' }],
    responses: { 200: [{ token_hash: '0f2c7d9e6b1a4c3f8e5d2b9a7c6e1f4d3b8a5c2e9f7d6b1a4c3e8f5d2b9a7c6e', token_type: 'parley_secret_key', label: 'true_positive' }] },
  },
}

/** The document with the examples in place; an example for a missing operation or status is a bug. */
export function attachExamples(doc: Document): Document {
  const operations = new Map(
    Object.values(doc.paths)
      .flatMap((item) => Object.values(item))
      .map((operation) => [operation.operationId, operation]),
  )
  for (const [operationId, { request, responses = {} }] of Object.entries(EXAMPLES)) {
    const operation = operations.get(operationId)
    if (!operation) throw new Error(`An example names operation ${operationId}, which does not exist`)
    if (request !== undefined) mediaOf(operation.requestBody?.content, `${operationId} request`).example = request
    for (const [status, example] of Object.entries(responses)) {
      mediaOf(operation.responses?.[status]?.content, `${operationId} ${status}`).example = example
    }
  }
  return doc
}

function mediaOf(content: Record<string, Media> | undefined, what: string): Media {
  const media = content?.['application/json']
  if (!media) throw new Error(`The example of ${what} has no JSON body to illustrate`)
  return media
}
