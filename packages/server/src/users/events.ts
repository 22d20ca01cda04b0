/** The domain events of users and visitors (API.md §7, §9), with their data. */
import type { userView } from './model.js'

/** A user as events carry it: its API fields. */
export type UserView = ReturnType<typeof userView>

declare module '../events/envelope.js' {
  interface EventDataByType {
    /** An upsert that created the user, or a visitor's first session. */
    'user.created': UserView
    /** An upsert or PATCH of an existing user: the user after the change. */
    'user.updated': UserView
    'user.deleted': { id: string }
  }
}
