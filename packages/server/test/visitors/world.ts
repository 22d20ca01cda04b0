/** The server, tenant and publishable key the visitor tests share, and how they call it. */
import { type TestParley, type TestTenant, startParley } from '../helpers/parley.js'

export interface VisitorWorld {
  t: TestParley
  tenant: TestTenant
  /** A publishable key of the tenant's live environment. */
  pk: string
}

export async function startVisitorWorld(): Promise<VisitorWorld> {
  const t = await startParley()
  const tenant = await t.createTenant()
  const { key: pk } = await createPublishableKey(t, tenant.liveKey)
  return { t, tenant, pk }
}

export async function createPublishableKey(
  t: TestParley,
  secret: string,
  extra: Record<string, unknown> = {},
): Promise<{ key: string; id: string }> {
  const res = await t.call('POST', '/v1/keys', { auth: secret, body: { name: 'web', type: 'publishable', ...extra } })
  if (res.status !== 201) throw new Error(`pk creation failed: ${res.status} ${res.text}`)
  return { key: res.body.key, id: res.body.id }
}

export const initVisitor = (t: TestParley, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  t.call('POST', '/v1/identity/init', { body, headers })

export const VIS = /^vis_[0-9A-Za-z]{22,}$/
