/** The push_mutes table: members who want no push for a conversation, until a time or until unmuted. */
import type { Kysely } from 'kysely'
import type { Database } from '../storage/schema.js'
import type { PushScope } from './model.js'

const CHUNK = 500

export class MuteStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Mutes (again: the new `until` replaces the old one); null mutes until unmuted. */
  async mute(scope: PushScope, conversationId: string, userId: string, until: string | null, now: string): Promise<void> {
    await this.db
      .insertInto('push_mutes')
      .values({ tenant_id: scope.tenantId, environment: scope.environment, conversation_id: conversationId, user_id: userId, until, created_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'environment', 'conversation_id', 'user_id']).doUpdateSet({ until, created_at: now }))
      .execute()
  }

  async unmute(scope: PushScope, conversationId: string, userId: string): Promise<void> {
    await this.db
      .deleteFrom('push_mutes')
      .where('tenant_id', '=', scope.tenantId)
      .where('environment', '=', scope.environment)
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute()
  }

  /**
   * Of these conversations and users, the pairs muted at `now` (ISO), as `conversation user`: the
   * mutes of a whole batch of messages in one query per chunk of users.
   */
  async mutedPairs(db: Kysely<Database>, scope: PushScope, conversationIds: readonly string[], userIds: readonly string[], now: string): Promise<Set<string>> {
    const muted = new Set<string>()
    if (conversationIds.length === 0) return muted
    for (let i = 0; i < userIds.length; i += CHUNK) {
      const rows = await db
        .selectFrom('push_mutes')
        .select(['conversation_id', 'user_id'])
        .where('tenant_id', '=', scope.tenantId)
        .where('environment', '=', scope.environment)
        .where('conversation_id', 'in', [...conversationIds])
        .where('user_id', 'in', userIds.slice(i, i + CHUNK))
        .where((eb) => eb.or([eb('until', 'is', null), eb('until', '>', now)]))
        .execute()
      for (const row of rows) muted.add(`${row.conversation_id} ${row.user_id}`)
    }
    return muted
  }

  async deleteOfUser(scope: PushScope, userId: string): Promise<void> {
    await this.db.deleteFrom('push_mutes').where('tenant_id', '=', scope.tenantId).where('environment', '=', scope.environment).where('user_id', '=', userId).execute()
  }
}
