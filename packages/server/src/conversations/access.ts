/**
 * Who may touch a conversation (API.md §5): a secret key acts for its whole tenant and
 * environment; a session caller only inside conversations it is a member of. Another tenant's or
 * environment's conversation is 404 (it does not exist for this caller); a conversation of the
 * same tenant that the caller is not in is 403. Visitors may read and send in their own
 * conversations, nothing more.
 */
import type { SecretCaller, SessionCaller } from '../core/caller.js'
import { ApiError, notFound } from '../core/errors.js'
import type { ChatScope, Conversation, Member } from './model.js'
import type { ConversationStore } from './store.js'

export type ChatCaller = SecretCaller | SessionCaller

/** read: view and send; manage: rename, delete, add members (owners and secret keys). */
export type ConversationAction = 'read' | 'manage'

export const scopeOf = (caller: ChatCaller): ChatScope => ({ tenantId: caller.tenant.id, environment: caller.environment })

export async function openConversation(
  store: ConversationStore,
  caller: ChatCaller,
  id: string,
  action: ConversationAction,
): Promise<{ conversation: Conversation; member: Member | null }> {
  const scope = scopeOf(caller)
  if (caller.kind === 'secret') {
    const conversation = await store.find(scope, id)
    if (!conversation) throw notFound('Conversation')
    return { conversation, member: null }
  }
  const found = await store.findWithMember(scope, id, caller.userId)
  if (!found) throw notFound('Conversation')
  const { conversation, member } = found
  if (!member) throw new ApiError('forbidden', 'You are not a member of this conversation')
  if (action === 'manage') {
    if (caller.userKind === 'visitor') throw new ApiError('forbidden', 'Visitors cannot manage conversations')
    if (member.role !== 'owner') throw new ApiError('forbidden', 'Only the conversation’s owners can do this')
  }
  return { conversation, member }
}

/** Visitors may only create, list, read and send (API.md §4.3). */
export function denyVisitors(caller: ChatCaller, what: string): void {
  if (caller.kind === 'session' && caller.userKind === 'visitor') throw new ApiError('forbidden', `Visitors cannot ${what}`)
}
