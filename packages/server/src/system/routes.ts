/** Liveness and readiness probes (no credentials). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import { ApiError } from '../core/errors.js'

export interface ReadinessCheck {
  name: string
  check(): Promise<void>
}

const Status = Type.Object({ status: Type.String() })

export const systemRoutes: FastifyPluginAsyncTypebox<{ readiness: ReadinessCheck[] }> = async (app, { readiness }) => {
  app.get('/healthz', { schema: { hide: true, response: { 200: Status } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { hide: true, response: { 200: Status } } }, async (request) => {
    for (const dependency of readiness) {
      try {
        await dependency.check()
      } catch (error) {
        request.log.warn({ err: error, dependency: dependency.name }, 'not ready')
        throw new ApiError('unavailable', `${dependency.name} is not answering`)
      }
    }
    return { status: 'ready' }
  })
}
