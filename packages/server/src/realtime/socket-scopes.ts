/**
 * The scopes of a socket's credential applied to what it hears (API.md §12): the same rights as
 * the REST routes that read the same data. Worked out once per credential as a bit mask, so the
 * check on every delivery is an integer test, and no test at all for an unscoped credential.
 *
 *   message.*, read.updated, typing   → messages:read      (GET …/messages)
 *   conversation.*, member.*          → conversations:read (GET /v1/conversations/{id})
 *   key.alert                         → usage:read         (GET /v1/alerts)
 *   user.*                            → users:read         (GET /v1/users/{id})
 *   any other event                   → unscoped credentials only, until it is given a rule here
 *
 * A secret key on a socket already needed `events:read`, the scope that grants its tenant
 * environment's whole event stream (`parley listen` and backends that mirror events need only
 * that), so the table applies to session tokens: an end user hears what its REST rights show it.
 */
import { hasScope } from '../auth/scopes.js'

const MESSAGES = 1
const CONVERSATIONS = 2
const USAGE = 4
const USERS = 8
const UNLISTED = 16

/** The read right an event needs, as one bit. */
export function readBitOf(event: string): number {
  if (event.startsWith('message.') || event === 'read.updated' || event === 'typing') return MESSAGES
  if (event.startsWith('conversation.') || event.startsWith('member.')) return CONVERSATIONS
  if (event === 'key.alert') return USAGE
  if (event.startsWith('user.')) return USERS
  return UNLISTED
}

/** The bits of the events a credential may not see; 0 for full read rights. */
export function hiddenEventsFor(caller: { kind: 'session' | 'secret'; scopes: readonly string[] }): number {
  const { scopes } = caller
  if (caller.kind === 'secret' || scopes.length === 0) return 0
  let hidden = UNLISTED
  if (!hasScope(scopes, 'messages:read')) hidden |= MESSAGES
  if (!hasScope(scopes, 'conversations:read')) hidden |= CONVERSATIONS
  if (!hasScope(scopes, 'usage:read')) hidden |= USAGE
  if (!hasScope(scopes, 'users:read')) hidden |= USERS
  return hidden
}
