/**
 * The client address behind every per-IP rule (failed-auth throttle, unauthenticated sockets,
 * publishable-key quotas, connections per IP), found the same way for HTTP requests and
 * WebSocket upgrades, and grouped so that one client cannot dodge a rule by rotating addresses.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { isIPv4, isIPv6 } from 'node:net'

/** PARLEY_TRUST_PROXY: false (the socket's peer), true (all of X-Forwarded-For) or a hop count. */
export type TrustProxy = boolean | number

/**
 * Which addresses are proxies we trust, as Fastify's trustProxy function takes it: `hop` 0 is the
 * socket's peer, 1 the last X-Forwarded-For entry, and so on. A hop count trusts that many; it is
 * given to Fastify as this function because Fastify ignores a bare number (it trusts no hop then).
 */
export function trustedHops(trust: TrustProxy): (address: string, hop: number) => boolean {
  if (trust === true) return () => true
  if (trust === false) return () => false
  return (_address, hop) => hop < trust
}

export interface RawRequest {
  socket: { remoteAddress?: string | undefined }
  headers: IncomingHttpHeaders
}

/**
 * The client's IP for a request Fastify has not seen (a WebSocket upgrade): the socket's peer, or
 * X-Forwarded-For read from the right as far as proxies are trusted — what Fastify's request.ip
 * answers for the same trust setting.
 */
export function clientIp(request: RawRequest, trust: TrustProxy): string {
  const peer = request.socket.remoteAddress ?? 'unknown'
  const forwarded = request.headers['x-forwarded-for']
  if (trust === false || typeof forwarded !== 'string') return peer
  const hops = [peer, ...forwarded.split(',').map((entry) => entry.trim()).filter(Boolean).reverse()]
  const trusted = trustedHops(trust)
  let i = 0
  while (i < hops.length - 1 && trusted(hops[i]!, i)) i++
  return hops[i]!
}

/**
 * The key a per-IP rule counts under. IPv4 addresses (IPv4-mapped IPv6 included) stand for
 * themselves; an IPv6 address stands for its /64, since one subscriber routinely holds a whole
 * /64 and could otherwise take a fresh address for every request.
 */
export function addressGroup(ip: string): string {
  const address = ip.split('%')[0]!
  if (isIPv4(address) || !isIPv6(address)) return address
  const groups = ipv6Groups(address)
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff
  if (mapped) return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.')
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted quad converted). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] => {
    if (part === '') return []
    return part.split(':').flatMap((piece) => {
      if (!piece.includes('.')) return [Number.parseInt(piece, 16)]
      const [a, b, c, d] = piece.split('.').map(Number)
      return [(a! << 8) | b!, (c! << 8) | d!]
    })
  }
  const [head = '', tail] = address.split('::')
  const first = parse(head)
  if (tail === undefined) return first
  const last = parse(tail)
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last]
}
