/**
 * What every store suite needs: two tenants (rows of other tables reference them), the three places
 * a row can live that must never see each other (tenant A live, tenant A test, tenant B live),
 * records with every field set, a walk through a store's pages, and the unique-violation check.
 *
 * Ids are lowercase letters and digits of one width, so their order is the same under any
 * PostgreSQL collation as in JavaScript.
 */
import { expect } from 'vitest'
import type { Conversation, Member } from '../../src/conversations/model.js'
import type { Environment } from '../../src/core/environment.js'
import type { KeyRecord } from '../../src/core/key-record.js'
import type { Tenant } from '../../src/core/tenant.js'
import { isUniqueViolation } from '../../src/storage/database.js'
import type { Store } from '../../src/storage/database.js'
import type { Message } from '../../src/messages/model.js'
import { TenantStore } from '../../src/tenants/store.js'
import type { User } from '../../src/users/model.js'

export interface Scope {
  tenantId: string
  environment: Environment
}

/** A's live data, A's test data and B's live data: each must be invisible from the others. */
export interface Places {
  a: Scope
  aTest: Scope
  b: Scope
}

/** `minute` minutes after a fixed instant, as the ISO text storage holds. */
export const isoAt = (minute: number): string => new Date(Date.UTC(2030, 0, 1) + minute * 60_000).toISOString()

let serial = 0
/** A fresh id: `prefix` then a zero-padded counter (see the file comment). */
export const nextId = (prefix: string): string => `${prefix}${String(++serial).padStart(6, '0')}`

export function tenantRecord(overrides: Partial<Tenant> = {}): Tenant {
  return {
    id: nextId('ten_'),
    name: 'Ünïcödé “quoted” 🚀',
    plan: 'pro',
    rateLimit: { limit: 500, windowSeconds: 60 },
    suspended: false,
    createdAt: isoAt(0),
    updatedAt: isoAt(0),
    deletedAt: null,
    ...overrides,
  }
}

/** Two tenants in storage, and the three places of `Places`. */
export async function twoTenants(store: Store): Promise<Places> {
  const tenants = new TenantStore(store.db)
  const [a, b] = [tenantRecord(), tenantRecord()]
  await tenants.insert(a)
  await tenants.insert(b)
  return { a: { tenantId: a.id, environment: 'live' }, aTest: { tenantId: a.id, environment: 'test' }, b: { tenantId: b.id, environment: 'live' } }
}

export function keyRecord(scope: Scope, overrides: Partial<KeyRecord> = {}): KeyRecord {
  const id = nextId('key_')
  return {
    id,
    ...scope,
    type: 'secret',
    name: 'k ✓',
    keyHash: `hash_${id}`,
    display: 'sk_live_…abcd',
    scopes: ['keys:*', 'users:read'],
    allowedOrigins: null,
    rateLimit: { limit: 5, windowSeconds: 1 },
    metadata: { nested: { list: [1, 'two', null, true] }, quote: "it's \"fine\"" },
    createdAt: isoAt(0),
    updatedAt: isoAt(0),
    expiresAt: '2099-12-31T23:59:59.999Z',
    revokedAt: null,
    lastUsedAt: null,
    rolledTo: null,
    visitorTtlSeconds: null,
    ...overrides,
  }
}

export function userRecord(scope: Scope, overrides: Partial<User> = {}): User {
  return {
    ...scope,
    id: nextId('u'),
    kind: 'user',
    visitorKey: null,
    username: 'ada',
    displayName: 'Ada Lovelace ✨',
    avatarUrl: 'https://a.example/ada.png',
    email: 'ada@a.example',
    metadata: { team: 'engines' },
    tokensValidAfter: null,
    createdAt: isoAt(0),
    updatedAt: isoAt(0),
    ...overrides,
  }
}

export function conversationRecord(scope: Scope, overrides: Partial<Conversation> = {}): Conversation {
  return {
    ...scope,
    id: nextId('conv_'),
    type: 'group',
    name: 'Général 💬',
    metadata: { topic: 'launch', nested: [1, 'two'] },
    directKey: null,
    lastSeq: 0,
    historyRevision: 0,
    lastActivityAt: isoAt(0),
    createdBy: 'u_creator',
    createdAt: isoAt(0),
    updatedAt: isoAt(0),
    ...overrides,
  }
}

export function memberRecord(userId: string, overrides: Partial<Member> = {}): Member {
  return { userId, role: 'member', joinedAt: isoAt(0), lastReadSeq: 0, ...overrides }
}

export function messageRecord(conversationId: string, seq: number, overrides: Partial<Message> = {}): Message {
  return {
    id: nextId('msg_'),
    conversationId,
    seq,
    senderId: 'u_sender',
    text: `message ${seq} — “ünïcödé” 🚀`,
    metadata: seq % 2 === 0 ? { n: seq, tags: ['a', 'b'] } : null,
    clientMessageId: null,
    createdAt: isoAt(seq),
    editedAt: null,
    deletedAt: null,
    ...overrides,
  }
}

/**
 * Every row of a listing, read `limit` at a time with the (time, id) cursor of the last row seen:
 * the way the API pages. Fails on a page that repeats a row.
 */
export async function walkPages<T extends { id: string }>(
  page: (limit: number, after: [string, string] | null) => Promise<T[]>,
  timeOf: (row: T) => string,
  limit = 2,
): Promise<T[]> {
  const rows: T[] = []
  let after: [string, string] | null = null
  for (;;) {
    const batch = await page(limit, after)
    expect(batch.length).toBeLessThanOrEqual(limit)
    rows.push(...batch)
    if (batch.length < limit) return rows
    const last = batch.at(-1)!
    after = [timeOf(last), last.id]
  }
}

/** Newest first, ties broken by the larger id first: the order every listing promises. */
export function newestFirst<T extends { id: string }>(rows: T[], timeOf: (row: T) => string): T[] {
  const key = (row: T) => `${timeOf(row)} ${row.id}`
  return [...rows].sort((x, y) => (key(x) < key(y) ? 1 : key(x) > key(y) ? -1 : 0))
}

/** Asserts the write fails with the error the services catch as "already exists" on either engine. */
export async function expectUniqueViolation(write: Promise<unknown>): Promise<void> {
  const error = await write.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error, 'the write succeeded').not.toBeNull()
  expect(isUniqueViolation(error), String(error)).toBe(true)
}
