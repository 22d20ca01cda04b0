/**
 * The credentials of the OpenAPI document: one security scheme per credential and form (API.md
 * §1.2), and each operation's requirements derived from its route's auth policy, so the document
 * cannot say anything else than what http/authenticate.ts enforces.
 */
import type { AuthPolicy } from '../http/types.js'

export const SECURITY_SCHEMES = {
  secretKey: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'sk_live_… / sk_test_…',
    description:
      'A secret key in `Authorization: Bearer` (or in `x-api-key`: secretKeyHeader). The listed scope is the one the operation needs; an ' +
      'unscoped key has every scope. An optional `x-tenant-id` (alias `x-sender-id`) must name the key’s tenant (else 401 tenant_mismatch).',
  },
  secretKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A secret key in `x-api-key`.' },
  publishableKey: {
    type: 'apiKey',
    in: 'header',
    name: 'x-api-key',
    description:
      'A publishable key (pk_live_… / pk_test_…) in `x-api-key`; `POST /v1/identity/init` also takes it in the `apiKey` body field. ' +
      'A key with `allowedOrigins` is refused from any other `Origin` (403 origin_not_allowed).',
  },
  sessionToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A session token (ES256 JWT) of a user (minted by `POST /v1/auth/token`) or a visitor (`POST /v1/identity/init`). The listed ' +
      'scope is the one the operation needs; an unscoped token has every scope. Visitors may only create, list, read, send in and ' +
      'leave their own conversations (403 forbidden otherwise).',
  },
  adminKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'The operator’s admin key. On an operation that takes a secret key it acts as an unscoped secret key of the tenant named by ' +
      '`x-tenant-id`, in the environment named by `x-environment: live|test` (both required).',
  },
  dashboardSession: {
    type: 'apiKey',
    in: 'cookie',
    name: 'parley_dashboard',
    description:
      'The dashboard’s session cookie, set by `POST /v1/dashboard/session` (HttpOnly, SameSite=Strict, 12 hours). Besides the session ' +
      'operations, every operation that takes the admin key or a secret key also takes it when no credential header is sent: an ' +
      'operator session as the admin key (with `x-tenant-id` and `x-environment` on tenant operations), a tenant session as the secret ' +
      'key it signed in with. With it, POST, PUT, PATCH and DELETE need an `Origin` header of Parley’s own origin (else 403 forbidden).',
  },
  // A signed leak report (API.md §11) carries both headers: one requirement names the two schemes.
  codeHostKeyIdentifier: {
    type: 'apiKey',
    in: 'header',
    name: 'Github-Public-Key-Identifier',
    description: 'The identifier of the code host’s public key that signed the report (among those at PARLEY_LEAK_REPORT_KEYS_URL or in PARLEY_LEAK_REPORT_KEYS).',
  },
  codeHostSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'Github-Public-Key-Signature',
    description: 'Base64 of the DER ECDSA P-256 SHA-256 signature of the raw request body, as GitHub secret scanning partners receive it.',
  },
} as const

export type SchemeName = keyof typeof SECURITY_SCHEMES
export type SecurityRequirement = Partial<Record<SchemeName, string[]>>

/**
 * The ways to call an operation: any one requirement suffices. A publishable key sent in the body
 * needs no header at all, hence the empty requirement where the body has an `apiKey` field.
 */
export function securityOf(policy: AuthPolicy, takesKeyInBody: boolean): SecurityRequirement[] {
  const scopes = policy.scope ? [policy.scope] : []
  if (policy.signed === 'code-host') return [{ codeHostKeyIdentifier: [], codeHostSignature: [] }]
  // Signing in takes the key in the body (no scheme describes that: no header needed); the session routes take only the cookie.
  if (policy.dashboard === 'sign-in') return [{}]
  if (policy.dashboard === 'session') return [{ dashboardSession: [] }]
  const requirements: SecurityRequirement[] = []
  for (const kind of policy.callers) {
    if (kind === 'secret') requirements.push({ secretKey: scopes }, { secretKeyHeader: scopes }, { adminKey: [] })
    if (kind === 'admin') requirements.push({ adminKey: [] })
    if (kind === 'session') requirements.push({ sessionToken: scopes })
    if (kind === 'publishable') requirements.push({ publishableKey: [] }, ...(takesKeyInBody ? [{}] : []))
  }
  return requirements
}
