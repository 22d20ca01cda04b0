/**
 * Which broker channels an event travels on. A node subscribes to the channels its local sockets
 * need: each user socket to its user channel and its conversations' channels, each secret-key
 * socket to its tenant channel.
 *
 *   conversation.created → the user channel of every member (none is subscribed to it yet)
 *   member.added         → the conversation channel, and the new member's user channel
 *   every other event    → the conversation channel
 *   all events           → the tenant channel (secret keys with events:read)
 */
import type { Environment } from '../core/environment.js'
import type { DomainEvent } from '../events/envelope.js'

export const conversationChannel = (tenantId: string, environment: Environment, conversationId: string) =>
  `conv:${tenantId}:${environment}:${conversationId}`
/** The conversation id of a `conv:<tenant>:<env>:<id>` channel (the id may contain colons), else ''. */
export function conversationOfChannel(channel: string): string {
  return channel.startsWith('conv:') ? channel.split(':').slice(3).join(':') : ''
}
export const userChannel = (tenantId: string, environment: Environment, userId: string) => `user:${tenantId}:${environment}:${userId}`
export const tenantChannel = (tenantId: string, environment: Environment) => `tenant:${tenantId}:${environment}`

export function channelsFor(event: DomainEvent): string[] {
  const { tenantId, environment, conversationId } = event
  const channels = [tenantChannel(tenantId, environment)]
  if (event.type === 'conversation.created') {
    for (const member of event.data.members) channels.push(userChannel(tenantId, environment, member.userId))
    return channels
  }
  if (conversationId !== null) channels.push(conversationChannel(tenantId, environment, conversationId))
  if (event.type === 'member.added') channels.push(userChannel(tenantId, environment, event.data.userId))
  return channels
}
