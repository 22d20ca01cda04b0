/**
 * Step 5b of the composition root: the realtime gateway, on the HTTP app's server, fed by the
 * domain events of the services and by invalidations from every node.
 */
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Authenticator } from '../auth/credentials.js'
import type { Config } from '../config.js'
import type { Broker } from '../realtime/broker.js'
import type { RealtimeGateway } from '../realtime/gateway.js'
import { createRealtime } from '../realtime/setup.js'
import type { Services } from './services.js'

export function startRealtime(
  config: Readonly<Config>,
  services: Services,
  authenticator: Authenticator,
  broker: Broker,
  app: FastifyInstance,
  logger: Logger,
): RealtimeGateway {
  const { gateway } = createRealtime({
    broker,
    bus: services.events,
    invalidations: services.invalidations,
    authenticator,
    conversations: services.conversationStore,
    messages: services.messages,
    subscriptionRecheckSeconds: config.subscriptionRecheckSeconds,
    publicUrl: config.publicUrl,
    trustProxy: config.trustProxy,
    socketCaps: { perUser: config.maxSocketsPerUser, perKey: config.maxSocketsPerKey },
    presence: services.presence,
    logger,
  })
  services.metrics.countSocketsWith(() => gateway.openSockets)
  gateway.attach(app.server)
  return gateway
}
