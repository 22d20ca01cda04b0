/**
 * Wires realtime delivery: domain events from the bus go to broker channels (serialised once),
 * the hub delivers channel traffic to local sockets, and credential invalidations from any node
 * re-check the sockets they concern.
 */
import type { Logger } from 'pino'
import type { KeyVerifier } from '../auth/api-keys.js'
import type { SessionTokens } from '../auth/session-tokens.js'
import type { Invalidation, Invalidations } from '../cluster/invalidations.js'
import type { ConversationStore } from '../conversations/store.js'
import type { EventBus } from '../events/bus.js'
import type { RequestLimits } from '../http/rate-limits.js'
import type { MessageService } from '../messages/service.js'
import type { MessageStore } from '../messages/store.js'
import type { Broker } from './broker.js'
import { channelsFor } from './channels.js'
import { RealtimeGateway } from './gateway.js'
import { Hub } from './hub.js'
import { SocketAuthenticator } from './identity.js'
import { MAX_REPLAY, frames } from './protocol.js'

export interface RealtimeDeps {
  broker: Broker
  bus: EventBus
  invalidations: Invalidations
  tokens: SessionTokens
  keys: KeyVerifier
  conversations: ConversationStore
  messageStore: MessageStore
  messages: MessageService
  limits: RequestLimits
  publicUrl: string
  logger: Logger
}

/** Output a socket may leave unread before it is dropped as a slow consumer. */
const MAX_BUFFERED_BYTES = 1024 * 1024

export function createRealtime(deps: RealtimeDeps): { gateway: RealtimeGateway; hub: Hub } {
  const hub = new Hub(deps.broker)

  deps.bus.subscribe((event) => {
    const payload = frames.event(event.type, event.conversationId, event.data)
    for (const channel of channelsFor(event)) hub.publish(channel, payload)
  })

  const gateway = new RealtimeGateway(
    new SocketAuthenticator(deps.tokens, deps.keys),
    {
      hub,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      conversationsOf: (caller) => deps.conversations.conversationIdsOf({ tenantId: caller.tenant.id, environment: caller.environment }, caller.userId),
      send: async (caller, frame) => {
        await deps.limits.admitMessage(caller)
        const { message } = await deps.messages.send(caller, frame.conversationId, {
          text: frame.text,
          ...(frame.clientMessageId !== undefined && { clientMessageId: frame.clientMessageId }),
        })
        return message
      },
      // New messages come from the messages table with their current state; edits and
      // deletions of messages the client had already seen are found by their timestamps.
      replay: async (caller, conversationId, afterSeq) => {
        const scope = { tenantId: caller.tenant.id, environment: caller.environment }
        const missed = await deps.messageStore.after(scope, conversationId, afterSeq, MAX_REPLAY + 1)
        if (missed.length > MAX_REPLAY) return 'resync'
        const changed = afterSeq > 0 ? await deps.messageStore.changedSince(scope, conversationId, afterSeq) : []
        return {
          changes: changed.map((m) => frames.event(m.deletedAt ? 'message.deleted' : 'message.updated', conversationId, m)),
          created: missed.map((m) => ({ seq: m.seq, frame: frames.event('message.created', conversationId, m) })),
        }
      },
    },
    { publicUrl: deps.publicUrl, maxUnauthenticatedPerIp: 20, frameLimit: { limit: 100, windowSeconds: 5 } },
    deps.logger,
  )

  // Caches were told first (they registered earlier), so re-checks read fresh state.
  deps.invalidations.on((change) => gateway.onInvalidation(change))
  deps.invalidations.relayTo((change) => deps.broker.publishInvalidation(change))
  deps.broker.onInvalidation((message, fromThisNode) => {
    if (!fromThisNode) deps.invalidations.receive(message as Invalidation)
  })
  return { gateway, hub }
}
