/**
 * Small helpers for tests about users, session tokens and visitors: upsert a user, mint a token
 * through the API, decode a JWT's parts without verifying it, and sign tokens in-process.
 */
import { SignJWT } from 'jose'
import type { TestParley } from './parley.js'

export async function upsertUser(t: TestParley, key: string, id: string, body: Record<string, unknown> = {}): Promise<void> {
  const res = await t.call('POST', '/v1/users', { auth: key, body: { id, ...body } })
  if (res.status !== 201 && res.status !== 200) throw new Error(`upsert failed: ${res.status} ${res.text}`)
}

export async function mintToken(
  t: TestParley,
  key: string,
  userId: string,
  extra: { expiresIn?: number; scopes?: string[] } = {},
): Promise<{ token: string; expiresAt: string }> {
  const res = await t.call('POST', '/v1/auth/token', { auth: key, body: { userId, ...extra } })
  if (res.status !== 201) throw new Error(`mint failed: ${res.status} ${res.text}`)
  return res.body
}

/** A JWT's header and payload, decoded without any check. */
export function decodeParts(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.')
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')),
  }
}

export const b64url = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/**
 * A token signed with Parley's own active private key (taken from the running key ring), with
 * exactly the claims and header given: lets tests forge genuine-signature tokens with bad claims.
 */
export async function signWithParleyKey(
  t: TestParley,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { kid, privateKey } = t.parley.services.signingKeys.signingKey()
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid, ...header }).sign(privateKey)
}

/** Claims shaped like Parley's own, for a user of a tenant (override any of them). */
export function claimsFor(
  t: TestParley,
  tenantId: string,
  userId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return {
    iss: t.publicUrl,
    aud: tenantId,
    sub: userId,
    tid: tenantId,
    env: 'live',
    kind: 'user',
    iat: now,
    exp: now + 600,
    jti: `${Date.now().toString(36)}.forged${Math.random().toString(36).slice(2, 10)}`,
    ...overrides,
  }
}
