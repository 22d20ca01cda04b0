/**
 * Lookups stay index seeks in a large tenant: SQLite must not answer them by scanning every
 * membership or message of the tenant — what it chose for the writer's batch lookups
 * (messages/store.ts) while the tenant and environment stood outside the OR of the keys, and for a
 * user's conversations while the index by user did not cover the query. Each plan is of the query
 * the store itself builds, so a change to a store's query is what this test checks.
 */
import { CompiledQuery } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConversationStore } from '../../src/conversations/store.js'
import { MessageStore, membershipLookup, retryLookup } from '../../src/messages/store.js'
import { type TestParley, startParley } from '../helpers/parley.js'

describe('store lookups on a large SQLite tenant', () => {
  let t: TestParley
  const tenant = 'ten_plans'
  const scope = { tenantId: tenant, environment: 'live' as const }

  beforeAll(async () => {
    t = await startParley({ engine: 'sqlite' })
    const db = t.parley.store.db
    // Thousands of rows in one tenant and environment: enough for a scan to look cheap to nobody.
    for (let c = 0; c < 300; c++) {
      const members = Array.from({ length: 10 }, (_, u) => ({
        tenant_id: tenant,
        environment: 'live' as const,
        conversation_id: `c${c}`,
        user_id: `u${u}`,
        role: 'member' as const,
        joined_at: '2026-01-01T00:00:00.000Z',
        last_read_seq: 0,
      }))
      await db.insertInto('members').values(members).execute()
      const messages = Array.from({ length: 10 }, (_, n) => ({
        tenant_id: tenant,
        environment: 'live' as const,
        conversation_id: `c${c}`,
        seq: n + 1,
        id: `msg_${c}_${n}`,
        sender_id: `u${n}`,
        text: 'x',
        metadata: null,
        client_message_id: `k${n}`,
        created_at: '2026-01-01T00:00:00.000Z',
        edited_at: null,
        deleted_at: null,
      }))
      await db.insertInto('messages').values(messages).execute()
    }
  })
  afterAll(() => t?.close())

  const planOf = async (query: { compile(): CompiledQuery }) => {
    const { sql, parameters } = query.compile()
    const { rows } = await t.parley.store.db.executeQuery(CompiledQuery.raw(`explain query plan ${sql}`, [...parameters]))
    return (rows as { detail: string }[]).map((r) => r.detail).join('\n')
  }

  it.each([2, 20, 100])('finds memberships of %i pairs by their whole key', async (size) => {
    const args = [tenant, 'live', ...Array.from({ length: size }, (_, i) => [`c${i}`, 'u1']).flat()]
    const plan = await planOf(membershipLookup(t.parley.store.db, (i) => args[i] as never, size))
    expect(plan).toMatch(/SEARCH members USING COVERING INDEX \S+ \(tenant_id=\? AND environment=\? AND conversation_id=\? AND user_id=\?\)/)
    expect(plan).not.toMatch(/\(tenant_id=\? AND environment=\?\)/)
    expect(plan).not.toMatch(/^SCAN/m)
  })

  it.each([2, 20, 100])('finds earlier sends of %i client message ids by their whole key', async (size) => {
    const args = [tenant, 'live', ...Array.from({ length: size }, (_, i) => [`c${i}`, 'u1', 'k1']).flat()]
    const plan = await planOf(retryLookup(t.parley.store.db, (i) => args[i] as never, size))
    expect(plan).toMatch(/SEARCH messages USING INDEX messages_idempotency \(tenant_id=\? AND environment=\? AND conversation_id=\? AND sender_id=\? AND client_message_id=\?\)/)
    expect(plan).not.toMatch(/\(tenant_id=\? AND environment=\?\)/)
    expect(plan).not.toMatch(/^SCAN/m)
  })

  it('finds a message by its id through the index by id (ids append to it)', async () => {
    const query = new MessageStore(t.parley.store.db).byIdQuery(scope, 'c7', 'msg_7_3')
    expect(await planOf(query)).toMatch(/SEARCH messages USING INDEX messages_by_id \(tenant_id=\? AND environment=\? AND id=\?\)/)
  })

  it("finds a user's conversations through the index by user", async () => {
    const plan = await planOf(new ConversationStore(t.parley.store.db).idsOfQuery(scope, 'u3'))
    expect(plan).toMatch(/SEARCH members USING COVERING INDEX members_by_user \(tenant_id=\? AND environment=\? AND user_id=\?\)/)
  })

  it.each([2, 170, 500])('finds the conversations of %i users at once through the index by user (socket re-checks)', async (size) => {
    const users = Array.from({ length: size }, (_, i) => `u${i}`)
    const plan = await planOf(new ConversationStore(t.parley.store.db).idsOfUsersQuery(scope, users))
    expect(plan).toMatch(/SEARCH members USING COVERING INDEX members_by_user \(tenant_id=\? AND environment=\? AND user_id=\?\)/)
    expect(plan).not.toMatch(/^SCAN/m)
  })
})
