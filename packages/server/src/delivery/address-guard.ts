/**
 * Where Parley may send requests on a tenant's behalf (API.md §7; webhooks now, Web Push later):
 * http(s) URLs whose host is a public address. Loopback, private, link-local, unique-local, CGNAT,
 * multicast, documentation and metadata addresses are refused, in every spelling: the WHATWG URL
 * parser turns `0x7f.1`, `2130706433` and `0177.0.0.1` into `127.0.0.1`, and IPv6 forms that carry
 * an IPv4 address (`::ffff:127.0.0.1`, NAT64, 6to4, IPv4-compatible) are judged by that address.
 *
 * A host name is checked when it is registered and again, after DNS resolution, at every
 * connection. `lookup` is the resolver the HTTP agent connects with: it resolves once, refuses
 * the connection if any answer is forbidden, and hands the checked addresses to the socket, so a
 * DNS answer that changes between check and connect (rebinding) cannot reach a private address.
 */
import { promises as dns, type LookupAddress } from 'node:dns'
import { isIP } from 'node:net'

/** What DNS says a host name is (dns.lookup with `all: true`). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>

export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true })

/** A connection refused because of where it would go. */
export class AddressNotAllowed extends Error {
  readonly code = 'EADDRNOTALLOWED'
  constructor(detail: string) {
    super(detail)
    this.name = 'AddressNotAllowed'
  }
}

interface Range {
  bytes: number[]
  bits: number
  why: string
}

const v4 = (text: string, bits: number, why: string): Range => ({ bytes: text.split('.').map(Number), bits, why })

const IPV4_RANGES: Range[] = [
  v4('0.0.0.0', 8, 'a "this network" address'),
  v4('10.0.0.0', 8, 'a private address'),
  v4('100.64.0.0', 10, 'a shared (CGNAT) address'),
  v4('127.0.0.0', 8, 'a loopback address'),
  v4('169.254.0.0', 16, 'a link-local or cloud metadata address'),
  v4('172.16.0.0', 12, 'a private address'),
  v4('192.0.0.0', 24, 'an IETF protocol address'),
  v4('192.0.2.0', 24, 'a documentation address'),
  v4('192.88.99.0', 24, 'a 6to4 relay address'),
  v4('192.168.0.0', 16, 'a private address'),
  v4('198.18.0.0', 15, 'a benchmarking address'),
  v4('198.51.100.0', 24, 'a documentation address'),
  v4('203.0.113.0', 24, 'a documentation address'),
  v4('224.0.0.0', 4, 'a multicast address'),
  v4('240.0.0.0', 4, 'a reserved or broadcast address'),
]

const v6 = (text: string, bits: number, why: string): Range => ({ bytes: [...ipv6Bytes(text)!], bits, why })

const IPV6_RANGES: Range[] = [
  v6('::', 128, 'the unspecified address'),
  v6('::1', 128, 'a loopback address'),
  v6('64:ff9b:1::', 48, 'a local NAT64 address'),
  v6('100::', 64, 'a discard address'),
  v6('2001::', 32, 'a Teredo address'),
  v6('2001:db8::', 32, 'a documentation address'),
  v6('fc00::', 7, 'a unique-local address'),
  v6('fe80::', 10, 'a link-local address'),
  v6('fec0::', 10, 'a site-local address'),
  v6('ff00::', 8, 'a multicast address'),
]

/** IPv6 prefixes whose addresses carry an IPv4 address, and where it sits (byte offset). */
const EMBEDDED_IPV4: { prefix: Range; offset: number }[] = [
  { prefix: v6('::ffff:0:0', 96, 'IPv4-mapped'), offset: 12 },
  { prefix: v6('::', 96, 'IPv4-compatible'), offset: 12 },
  { prefix: v6('64:ff9b::', 96, 'NAT64'), offset: 12 },
  { prefix: v6('2002::', 16, '6to4'), offset: 2 },
]

function inRange(bytes: ArrayLike<number>, range: Range): boolean {
  let bits = range.bits
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((bytes[i]! & mask) !== (range.bytes[i]! & mask)) return false
  }
  return true
}

/** The 16 bytes of an IPv6 address in any textual form (`::`, embedded dotted IPv4), or null. */
function ipv6Bytes(text: string): Uint8Array | null {
  let address = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  if (isIP(address) !== 6) return null
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number]
    address = `${address.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  const bytes = new Uint8Array(16)
  groups.forEach((group, i) => {
    const value = parseInt(group, 16)
    bytes[i * 2] = value >> 8
    bytes[i * 2 + 1] = value & 0xff
  })
  return bytes
}

/**
 * Why Parley must not connect to `ip` (e.g. "127.0.0.1 is a loopback address"), or null when it
 * is a public address. Anything that is not an IP address at all is refused too.
 */
export function forbiddenReason(ip: string): string | null {
  const family = isIP(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''))
  if (family === 4) {
    const bytes = ip.split('.').map(Number)
    const range = IPV4_RANGES.find((r) => inRange(bytes, r))
    return range ? `${ip} is ${range.why}` : null
  }
  const bytes = family === 6 ? ipv6Bytes(ip) : null
  if (!bytes) return `${ip} is not an IP address`
  for (const { prefix, offset } of EMBEDDED_IPV4) {
    if (!inRange(bytes, prefix)) continue
    const embedded = Array.from(bytes.subarray(offset, offset + 4)).join('.')
    // ::1 and :: are IPv4-compatible in form; they are judged below as what they are.
    if (prefix.why === 'IPv4-compatible' && (embedded === '0.0.0.1' || embedded === '0.0.0.0')) break
    const reason = forbiddenReason(embedded)
    return reason ? `${ip} carries ${embedded} (${prefix.why}), which is ${reason.slice(reason.indexOf(' is ') + 4)}` : null
  }
  const range = IPV6_RANGES.find((r) => inRange(bytes, r))
  return range ? `${ip} is ${range.why}` : null
}

const LOCAL_NAMES = /(^|\.)localhost\.?$|(^|\.)local\.?$|(^|\.)internal\.?$/i

export interface AddressGuardOptions {
  /** PARLEY_WEBHOOK_ALLOW_PRIVATE: every address is allowed (development and tests). */
  allowPrivate: boolean
  resolver?: Resolver
  /** How long registration waits for DNS before accepting a host it could not resolve. */
  registrationLookupMs?: number
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

export class AddressGuard {
  private readonly resolver: Resolver
  private readonly allowPrivate: boolean
  private readonly registrationLookupMs: number

  constructor(options: AddressGuardOptions) {
    this.allowPrivate = options.allowPrivate
    this.resolver = options.resolver ?? systemResolver
    this.registrationLookupMs = options.registrationLookupMs ?? 3000
  }

  /**
   * Why `raw` may not be registered, or null. A host that does not resolve (yet) is accepted: its
   * DNS may be set up later, and every connection is checked again anyway.
   */
  async refusal(raw: string): Promise<string | null> {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return 'must be an absolute http(s) URL'
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http or https'
    if (url.username || url.password) return 'must not carry credentials; verify the signature instead'
    if (this.allowPrivate) return null
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (isIP(host)) return forbiddenReason(host)
    if (LOCAL_NAMES.test(host)) return `${host} names a local host`
    let addresses: LookupAddress[]
    try {
      addresses = await withTimeout(this.resolver(host), this.registrationLookupMs)
    } catch {
      return null
    }
    for (const { address } of addresses) {
      const reason = forbiddenReason(address)
      if (reason) return `${host} resolves to ${address}, and ${reason}`
    }
    return null
  }

  /** Throws AddressNotAllowed unless Parley may connect to the IP address `ip`. */
  checkAddress(ip: string): void {
    if (this.allowPrivate) return
    const reason = forbiddenReason(ip)
    if (reason) throw new AddressNotAllowed(`address not allowed: ${reason}`)
  }

  /** The addresses of `hostname`, every one of them allowed, from one DNS resolution. */
  async resolve(hostname: string): Promise<LookupAddress[]> {
    if (isIP(hostname)) {
      this.checkAddress(hostname)
      return [{ address: hostname, family: isIP(hostname) }]
    }
    const addresses = await this.resolver(hostname)
    if (addresses.length === 0) throw Object.assign(new Error(`${hostname} did not resolve`), { code: 'ENOTFOUND' })
    // One bad answer refuses them all: connecting to "the other one" would let DNS pick the target.
    for (const { address } of addresses) this.checkAddress(address)
    return addresses
  }

  /**
   * The `lookup` for http(s) agents and `net.connect`: the socket connects to exactly the
   * addresses checked here (Node asks for one address, or for all with autoSelectFamily).
   */
  readonly lookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    this.resolve(hostname).then(
      (addresses) => (options.all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family)),
      (error: NodeJS.ErrnoException) => callback(error, ''),
    )
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
