/**
 * Standard Webhooks v1 verification of a Parley delivery (API.md §7): the HMAC-SHA256 of
 * `id.timestamp.body` under the base64-decoded `whsec_` secret, compared in constant time with each
 * `v1,` signature of `webhook-signature` (two during a secret rotation's overlap).
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { HeaderSource } from '@parley/protocol/errors'

/** A delivery that is not Parley's, was changed on the way, or is too old (or too new) to trust. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError'
}

/** The §7 body of a delivery. */
export interface WebhookEvent<D = Record<string, unknown>> {
  type: string
  id: string
  timestamp: string
  tenantId: string
  environment: 'live' | 'test'
  data: D
}

/** A delivery more than this far from now, in either direction, is refused (a replay, or a wrong clock). */
const TOLERANCE_S = 5 * 60

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined
  const record = headers as Record<string, string | string[] | undefined>
  const value = record[name] ?? record[Object.keys(record).find((key) => key.toLowerCase() === name) ?? '']
  return Array.isArray(value) ? value[0] : value
}

function secretBytes(secret: string): Buffer {
  const bytes = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64')
  if (bytes.length === 0) throw new TypeError('verifyWebhook: the secret must be the whsec_… value Parley showed')
  return bytes
}

/**
 * The event of a delivery whose signature and timestamp check out; else a WebhookVerificationError.
 * Pass the body exactly as received (string, Buffer or Uint8Array), never re-serialised JSON.
 *
 * @example
 * app.post('/parley-webhooks', express.raw({ type: 'application/json' }), (req, res) => {
 *   const event = verifyWebhook(req.body, req.headers, process.env.PARLEY_WEBHOOK_SECRET)
 *   res.sendStatus(204)
 * })
 */
export function verifyWebhook<D = Record<string, unknown>>(rawBody: string | Uint8Array, headers: HeaderSource, secret: string): WebhookEvent<D> {
  const id = header(headers, 'webhook-id')
  const timestamp = header(headers, 'webhook-timestamp')
  const signatures = header(headers, 'webhook-signature')
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature header')
  const seconds = Number(timestamp)
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - seconds) > TOLERANCE_S) {
    throw new WebhookVerificationError('The webhook-timestamp is more than 5 minutes from now')
  }
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody) : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength)
  const expected = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.`).update(body).digest()
  const matches = signatures.split(' ').some((signature) => {
    const [version, value] = signature.split(',', 2)
    if (version !== 'v1' || !value) return false
    const given = Buffer.from(value, 'base64')
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
  if (!matches) throw new WebhookVerificationError('No signature matches: wrong secret, or the body was changed')
  try {
    return JSON.parse(body.toString('utf8')) as WebhookEvent<D>
  } catch {
    throw new WebhookVerificationError('The signed body is not JSON')
  }
}

/**
 * verifyWebhook for a fetch `Request`: reads the raw body itself, so no re-serialised JSON can slip in.
 *
 * @example
 * export async function POST(request) {
 *   const event = await verifyWebhook.request(request, process.env.PARLEY_WEBHOOK_SECRET)
 *   return new Response(null, { status: 204 })
 * }
 */
verifyWebhook.request = async function verifyWebhookRequest<D = Record<string, unknown>>(request: Request, secret: string): Promise<WebhookEvent<D>> {
  return verifyWebhook<D>(new Uint8Array(await request.arrayBuffer()), request.headers, secret)
}
