/**
 * /v1/dashboard/session: the dashboard's sign-in (DASHBOARD.md "Signing in"). The credential
 * checks are the shared ones (http/authenticate.ts, policy `dashboard`): signing in verifies the
 * body's key like any credential (failures counted by the per-address throttle); reading and
 * signing out take only the session cookie. The session itself is auth/dashboard-sessions.ts.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { type DashboardSession, type DashboardSessions, SESSION_SECONDS, sessionCookieHeader, sessionCookieIn } from '../auth/dashboard-sessions.js'
import type { Caller } from '../core/caller.js'
import { ref } from '../http/schemas.js'
import { DashboardSessionSchema, SignInBody } from './schemas.js'

const tags = ['Dashboard']
const signIn = { auth: { callers: ['admin', 'secret'], dashboard: 'sign-in' } } as const
const withSession = { auth: { callers: ['admin', 'secret'], dashboard: 'session' } } as const

export interface DashboardRouteOptions {
  sessions: DashboardSessions
  /** Set the cookie's Secure attribute (Parley is served over https). */
  secureCookie: boolean
}

export const dashboardRoutes: FastifyPluginAsyncTypebox<DashboardRouteOptions> = async (app, { sessions, secureCookie }) => {
  // Nothing about a session may be kept by a cache between the browser and Parley.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store')
    done(null, payload)
  })

  app.post(
    '/v1/dashboard/session',
    {
      config: signIn,
      schema: {
        tags,
        operationId: 'dashboard.session.create',
        summary: 'Sign in to the dashboard with the admin key or a secret key (sets the httpOnly session cookie)',
        description:
          'Exchanges the key for a session cookie `parley_dashboard` (HttpOnly, SameSite=Strict, Path=/, 12 hours, Secure over https), stored ' +
          'server-side only as a hash. Any other credential is a 401, and failures count towards the per-address throttle of failed ' +
          'authentications. A request with an `Origin` must come from Parley’s own origin.',
        body: SignInBody,
        response: { 200: ref(DashboardSessionSchema) },
      },
    },
    async (request, reply) => {
      const caller = request.caller!
      // A browser holds one session: the one it signs in again over ends.
      const previous = sessionCookieIn(request.headers.cookie)
      if (previous !== undefined) await sessions.revoke(previous)
      const subject =
        caller.kind === 'secret' && caller.key
          ? { kind: 'tenant' as const, keyId: caller.key.id, keyHash: caller.key.keyHash, tenantId: caller.tenant.id, environment: caller.environment }
          : { kind: 'operator' as const }
      const { cookie, session } = await sessions.create(subject)
      reply.header('set-cookie', sessionCookieHeader(cookie, SESSION_SECONDS, secureCookie))
      return view(session, caller)
    },
  )

  app.get(
    '/v1/dashboard/session',
    {
      config: withSession,
      schema: {
        tags,
        operationId: 'dashboard.session.get',
        summary: 'The signed-in dashboard session: who it is, and until when',
        response: { 200: ref(DashboardSessionSchema) },
      },
    },
    async (request) => view(sessionOf(request), request.caller!),
  )

  app.delete(
    '/v1/dashboard/session',
    {
      config: withSession,
      schema: {
        tags,
        operationId: 'dashboard.session.delete',
        summary: 'Sign out: ends the session on the server and clears its cookie',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      sessionOf(request)
      await sessions.revoke(sessionCookieIn(request.headers.cookie)!)
      reply.header('set-cookie', sessionCookieHeader('', 0, secureCookie))
      return reply.status(204).send(null)
    },
  )
}

function sessionOf(request: FastifyRequest): DashboardSession {
  if (!request.dashboardSession) throw new Error(`route ${request.routeOptions.url} reached its handler without a dashboard session`)
  return request.dashboardSession
}

/** The session as the dashboard sees it: a tenant session with its key as it is now (scopes). */
function view(session: DashboardSession, caller: Caller) {
  if (session.kind === 'tenant' && caller.kind === 'secret') {
    const { id, name, plan } = caller.tenant
    return { kind: 'tenant', tenant: { id, name, plan }, environment: caller.environment, scopes: caller.scopes, expiresAt: session.expiresAt }
  }
  return { kind: 'operator', tenant: null, environment: null, scopes: null, expiresAt: session.expiresAt }
}
