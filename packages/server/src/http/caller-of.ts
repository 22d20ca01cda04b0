/** Typed access to the caller the auth layer established (its policy already checked the kind). */
import type { FastifyRequest } from 'fastify'
import type { Caller, PublishableCaller, SecretCaller, SessionCaller, TenantCaller } from '../core/caller.js'

function callerOf<K extends Caller['kind']>(request: FastifyRequest, kinds: K[]): Extract<Caller, { kind: K }> {
  const caller = request.caller
  if (!caller || !kinds.includes(caller.kind as K)) {
    throw new Error(`route ${request.routeOptions.url} reached its handler without a ${kinds.join('/')} caller`)
  }
  return caller as Extract<Caller, { kind: K }>
}

export const secretCaller = (request: FastifyRequest): SecretCaller => callerOf(request, ['secret'])
export const sessionCaller = (request: FastifyRequest): SessionCaller => callerOf(request, ['session'])
export const tenantCaller = (request: FastifyRequest): TenantCaller => callerOf(request, ['secret', 'session', 'publishable'])
export const publishableCaller = (request: FastifyRequest): PublishableCaller => callerOf(request, ['publishable'])

/** Chat routes: a secret key acting for the tenant, or a session token acting as its user. */
export const chatCaller = (request: FastifyRequest): SecretCaller | SessionCaller => callerOf(request, ['secret', 'session'])
