/** GET /metrics: Prometheus text; needs the admin key unless PARLEY_METRICS_PUBLIC=true. */
import type { FastifyPluginAsync } from 'fastify'
import type { Metrics } from './metrics.js'

export const metricsRoutes: FastifyPluginAsync<{ metrics: Metrics; isPublic: boolean }> = async (app, { metrics, isPublic }) => {
  app.get(
    '/metrics',
    { config: isPublic ? {} : { auth: { callers: ['admin'] } }, schema: { hide: true } },
    async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
}
