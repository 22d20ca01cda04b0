/**
 * Wires realtime delivery: domain events from the bus go to broker channels (serialised once),
 * the hub delivers channel traffic to local sockets, credential invalidations from any node
 * re-check the sockets they concern, and sockets' subscriptions are re-read from storage
 * periodically and whenever the broker reconnects (events may have been lost meanwhile).
 */
import type { Logger } from 'pino'
import type { Authenticator } from '../auth/credentials.js'
import type { Invalidation, Invalidations } from '../cluster/invalidations.js'
import type { Presence } from '../cluster/presence.js'
import type { ConversationStore } from '../conversations/store.js'
import type { EventBus } from '../events/bus.js'
import type { TrustProxy } from '../lib/client-address.js'
import type { MessageService } from '../messages/service.js'
import type { Broker } from './broker.js'
import { RealtimeGateway } from './gateway.js'
import { Hub } from './hub.js'
import { FRAME_RATE_LIMIT, MAX_REPLAY, frames } from './protocol.js'
import type { SocketCapSettings } from './socket-caps.js'
import { SubscriptionRecheck } from './subscription-recheck.js'

export interface RealtimeDeps {
  broker: Broker
  bus: EventBus
  invalidations: Invalidations
  /** The credential check HTTP uses too (auth/credentials.ts). */
  authenticator: Authenticator
  conversations: ConversationStore
  messages: MessageService
  /** Seconds between two storage re-checks of a socket's subscriptions (at most 60). */
  subscriptionRecheckSeconds: number
  publicUrl: string
  /** PARLEY_TRUST_PROXY, to find an upgrade's client address as HTTP does. */
  trustProxy: TrustProxy
  socketCaps: SocketCapSettings
  /** Who has a socket open, on any node (push notifications skip them). */
  presence: Presence
  logger: Logger
}

/** Output a socket may leave unread before it is dropped as a slow consumer. */
const MAX_BUFFERED_BYTES = 1024 * 1024

export function createRealtime(deps: RealtimeDeps): { gateway: RealtimeGateway; hub: Hub } {
  const hub = new Hub(deps.broker)

  deps.bus.subscribe((event) => hub.publishEvent(event))

  const subscriptions = new SubscriptionRecheck(
    (scope, userIds) => deps.conversations.conversationIdsOfUsers(scope, userIds),
    deps.subscriptionRecheckSeconds,
    (error) => deps.logger.warn({ err: error }, 'subscription re-check failed; retried next period'),
  )
  // Back from a lost broker connection: what other nodes announced meanwhile never arrived.
  deps.broker.onReconnect(() => {
    deps.invalidations.receive({ type: 'everything' })
    subscriptions.recheckAll()
  })

  const gateway = new RealtimeGateway(
    deps.authenticator,
    {
      hub,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      subscriptions,
      conversationsOf: (caller) => deps.conversations.conversationIdsOf({ tenantId: caller.tenant.id, environment: caller.environment }, caller.userId),
      send: async (caller, frame) => {
        const { message } = await deps.messages.send(caller, frame.conversationId, {
          text: frame.text,
          ...(frame.clientMessageId !== undefined && { clientMessageId: frame.clientMessageId }),
        })
        return message
      },
      replay: async (caller, conversationId, afterSeq) => {
        const missed = await deps.messages.replay(caller, conversationId, afterSeq, MAX_REPLAY)
        if (missed === 'too_many') return 'resync'
        return {
          changes: missed.changed.map((m) => frames.event(m.deletedAt ? 'message.deleted' : 'message.updated', conversationId, m)),
          created: missed.created.map((m) => ({ seq: m.seq, frame: frames.event('message.created', conversationId, m) })),
        }
      },
    },
    {
      publicUrl: deps.publicUrl,
      trustProxy: deps.trustProxy,
      socketCaps: deps.socketCaps,
      presence: deps.presence,
      maxUnauthenticatedPerIp: 20,
      frameLimit: FRAME_RATE_LIMIT,
    },
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
