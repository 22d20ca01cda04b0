/**
 * Re-reads from storage which conversations each user socket listens to (API.md §12). Sockets
 * follow membership through events; one lost event (a Redis outage, a node that missed a
 * publication) would otherwise leave a removed member listening, or an added one deaf, for as
 * long as the socket lives.
 *
 * Every socket is checked once per period. The work is spread over the period's seconds by user
 * (all sockets of a user share a second, so one read serves them), and each second's users are read
 * with one query per tenant environment, in chunks: at 10,000 sockets and a 60 s period that is one
 * query of about 170 users a second. After the broker reconnects, every socket is checked at the
 * next second. The gateway's once-a-second sweep drives it, so there is no timer of its own.
 */
import type { ChatScope } from '../conversations/model.js'
import type { Connection } from './connection.js'

/** The conversation ids of each of `userIds` (a user with none may be absent). */
export type MembershipsOf = (scope: ChatScope, userIds: string[]) => Promise<Map<string, string[]>>

/**
 * Which second of the period checks a user's sockets (taken modulo the period): the same for all
 * of them, and spread evenly over users. FNV-1a of tenant and user id, with a final mix so that
 * ids differing only in their last characters still land on different seconds.
 */
export function recheckSlotOf(tenantId: string, userId: string): number {
  let hash = 0x811c9dc5
  for (const text of [tenantId, userId]) {
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  }
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  return (hash ^ (hash >>> 13)) >>> 0
}

/** Users per query: well under every engine's limit on bound parameters. */
const USERS_PER_QUERY = 500

export class SubscriptionRecheck {
  private ticks = 0
  private everyone = false
  private readonly due = new Set<Connection>()
  private draining = false

  constructor(
    private readonly membershipsOf: MembershipsOf,
    /** Seconds between two checks of one socket (API.md §12: at most 60). */
    private readonly periodSeconds: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Called once a second with every open connection: queues this second's share and reads it. */
  tick(connections: Iterable<Connection>): void {
    const slot = this.ticks++ % this.periodSeconds
    const everyone = this.everyone
    this.everyone = false
    for (const connection of connections) {
      if (connection.userId !== null && (everyone || connection.recheckSlot % this.periodSeconds === slot)) this.due.add(connection)
    }
    if (this.due.size > 0 && !this.draining) void this.drain()
  }

  /** Events may have been lost (the broker reconnected): every socket is checked at the next tick. */
  recheckAll(): void {
    this.everyone = true
  }

  /** Reads and applies what is due, one query at a time; what becomes due meanwhile waits its turn. */
  private async drain(): Promise<void> {
    this.draining = true
    try {
      while (this.due.size > 0) {
        const batch = [...this.due]
        this.due.clear()
        for (const group of groupByUser(batch)) {
          try {
            await this.check(group)
          } catch (error) {
            // The next period tries again; one failed read must not stop the others.
            this.onError(error)
          }
        }
      }
    } finally {
      this.draining = false
    }
  }

  private async check(group: UserGroup): Promise<void> {
    // Taken before the read: a socket whose channels change while it runs keeps them (see reconcile).
    const changesAtRead = group.connections.map((connection) => connection.membershipChanges)
    const memberships = await this.membershipsOf(group.scope, [...group.users])
    group.connections.forEach((connection, i) => {
      connection.reconcile(memberships.get(connection.userId!) ?? [], changesAtRead[i]!)
    })
  }
}

interface UserGroup {
  scope: ChatScope
  users: Set<string>
  connections: Connection[]
}

/** Connections grouped by tenant environment, at most USERS_PER_QUERY users a group. */
function groupByUser(connections: Connection[]): UserGroup[] {
  const open = new Map<string, UserGroup>()
  const groups: UserGroup[] = []
  for (const connection of connections) {
    const { caller } = connection
    if (caller.kind !== 'session') continue
    const key = `${caller.tenant.id}\u0000${caller.environment}`
    let group = open.get(key)
    if (!group || (group.users.size >= USERS_PER_QUERY && !group.users.has(caller.userId))) {
      group = { scope: { tenantId: caller.tenant.id, environment: caller.environment }, users: new Set(), connections: [] }
      open.set(key, group)
      groups.push(group)
    }
    group.users.add(caller.userId)
    group.connections.push(connection)
  }
  return groups
}
