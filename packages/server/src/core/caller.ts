/**
 * Who is making a request, as established by the auth layer (http/authenticate.ts).
 * Services take a Caller and decide what it may do; they never look at headers.
 */
import type { KeyRecord } from './key-record.js'
import type { Tenant } from './tenant.js'
import type { Environment } from './environment.js'

/** A tenant's secret key, or the admin key acting on a tenant (`key: null`, unscoped). */
export interface SecretCaller {
  kind: 'secret'
  tenant: Tenant
  environment: Environment
  key: KeyRecord | null
  scopes: string[]
  isAdmin: boolean
}

export interface PublishableCaller {
  kind: 'publishable'
  tenant: Tenant
  environment: Environment
  key: KeyRecord
}

/** An end user or visitor holding a session token. */
export interface SessionCaller {
  kind: 'session'
  tenant: Tenant
  environment: Environment
  userId: string
  userKind: 'user' | 'visitor'
  scopes: string[]
  issuedAt: number
  expiresAt: number
  /** The publishable key a visitor token was opened with (its refresh lifetime). */
  keyId: string | null
}

/** The operator, on /v1/admin/*. */
export interface AdminCaller {
  kind: 'admin'
}

export type Caller = SecretCaller | PublishableCaller | SessionCaller | AdminCaller
export type TenantCaller = SecretCaller | PublishableCaller | SessionCaller
export type CallerKind = Caller['kind']
