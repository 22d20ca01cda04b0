import type { IncomingMessage } from 'node:http'
import { newId } from '../core/ids.js'

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Keep a caller's x-request-id when it is a sane token, else mint `req_…`. */
export function requestIdOf(request: IncomingMessage): string {
  const inbound = request.headers['x-request-id']
  return typeof inbound === 'string' && SANE_REQUEST_ID.test(inbound) ? inbound : newId('request')
}
