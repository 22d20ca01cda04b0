/**
 * The SSRF guard as a table: every spelling of a forbidden address is refused at registration and
 * at connection, and a connection goes to the address that was checked. Nothing leaves loopback:
 * resolvers are stand-ins, and the one connection made is to a loopback server.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { AddressGuard, type Resolver, forbiddenReason } from '../../src/delivery/address-guard.js'
import { HttpPoster } from '../../src/delivery/http-post.js'

const answers = (...addresses: string[]): Resolver => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
const guard = (resolver: Resolver = answers('93.184.216.34'), allowPrivate = false) => new AddressGuard({ allowPrivate, resolver })

const FORBIDDEN_URLS = [
  'http://127.0.0.1/',
  'http://localhost/',
  'http://LOCALHOST./x',
  'http://api.localhost/',
  'http://0x7f.1/',
  'http://2130706433/',
  'http://0177.0.0.1/',
  'http://127.1/',
  'http://0/',
  'http://0.0.0.0/',
  'http://10.1.2.3/',
  'http://172.16.0.1/',
  'http://172.31.255.255/',
  'http://192.168.1.1/',
  'http://100.64.0.1/',
  'http://100.100.100.200/',
  'http://169.254.169.254/latest/meta-data/',
  'http://224.0.0.1/',
  'http://255.255.255.255/',
  'http://198.18.0.1/',
  'http://[::1]/',
  'http://[::]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[0:0:0:0:0:ffff:7f00:1]/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://[::127.0.0.1]/',
  'http://[64:ff9b::7f00:1]/',
  'http://[2002:7f00:1::]/',
  'http://[fc00::1]/',
  'http://[fd00:ec2::254]/',
  'http://[fe80::1]/',
  'http://[fec0::1]/',
  'http://[ff02::1]/',
  'http://[2001:db8::1]/',
  'http://metadata.google.internal/',
  'http://printer.local/',
]

const NOT_URLS = ['ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/', 'javascript:alert(1)', 'example.com/hook', 'https://user:pass@example.com/']

describe('registration', () => {
  it.each(FORBIDDEN_URLS)('refuses %s', async (url) => {
    expect(await guard().refusal(url)).toEqual(expect.any(String))
  })

  it.each(NOT_URLS)('refuses %s (not an http(s) URL Parley may call)', async (url) => {
    expect(await guard().refusal(url)).toEqual(expect.any(String))
  })

  it.each(['https://example.com/hooks', 'http://93.184.216.34:8080/x', 'https://[2606:2800:220:1:248:1893:25c8:1946]/', 'http://8.8.8.8/', 'https://[::ffff:8.8.8.8]/'])('accepts %s', async (url) => {
    expect(await guard().refusal(url)).toBeNull()
  })

  it('refuses a host whose DNS answers include a private address', async () => {
    expect(await guard(answers('93.184.216.34', '10.0.0.5')).refusal('https://mixed.example.com/')).toMatch(/resolves to 10\.0\.0\.5/)
    expect(await guard(answers('::1')).refusal('https://six.example.com/')).toMatch(/loopback/)
  })

  it('accepts a host that does not resolve yet (it is checked again at every connection)', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' })
    }
    expect(await guard(failing).refusal('https://not-yet.example.com/')).toBeNull()
  })

  it('allows everything with PARLEY_WEBHOOK_ALLOW_PRIVATE, but still only http(s)', async () => {
    expect(await guard(answers('127.0.0.1'), true).refusal('http://127.0.0.1:3000/')).toBeNull()
    expect(await guard(answers('127.0.0.1'), true).refusal('ftp://127.0.0.1/')).toEqual(expect.any(String))
  })
})

describe('forbiddenReason', () => {
  it.each([
    ['127.0.0.1', /loopback/],
    ['169.254.169.254', /metadata/],
    ['100.64.1.1', /CGNAT/],
    ['::ffff:10.0.0.1', /carries 10\.0\.0\.1 .*private/],
    ['64:ff9b::a9fe:a9fe', /carries 169\.254\.169\.254/],
    ['fe80::1%eth0', /link-local/],
    ['not-an-ip', /not an IP/],
  ])('%s', (ip, reason) => {
    expect(forbiddenReason(ip)).toMatch(reason)
  })

  it.each(['93.184.216.34', '1.1.1.1', '2606:4700::1111', '::ffff:1.1.1.1', '64:ff9b::808:808'])('%s is public', (ip) => {
    expect(forbiddenReason(ip)).toBeNull()
  })
})

describe('delivery', () => {
  it('refuses the connection when DNS answers a public address at registration and a private one at delivery', async () => {
    let lookups = 0
    const rebinding: Resolver = async () => [{ address: lookups++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }]
    const g = guard(rebinding)
    expect(await g.refusal('http://rebind.example.com/hook')).toBeNull()
    const poster = new HttpPoster(g, 2000, 'test')
    const result = await poster.post(new URL('http://rebind.example.com/hook'), Buffer.from('{}'), {})
    poster.close()
    expect(result).toMatchObject({ status: null, error: expect.stringMatching(/address not allowed: 127\.0\.0\.1 is a loopback address/) })
    expect(lookups).toBe(2)
  })

  it('refuses an IP literal without any lookup', async () => {
    const poster = new HttpPoster(guard(), 2000, 'test')
    const result = await poster.post(new URL('http://[::ffff:7f00:1]:9/'), Buffer.from('{}'), {})
    poster.close()
    expect(result.error).toMatch(/address not allowed/)
  })

  it('connects to exactly the address it checked, resolving once per connection', async () => {
    // A loopback server stands in for the public host; the resolver is the only way to reach it.
    const server = http.createServer((_request, response) => response.end('ok'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const seen: string[] = []
    const resolver: Resolver = async (host) => {
      seen.push(host)
      return [{ address: '127.0.0.1', family: 4 }]
    }
    const poster = new HttpPoster(new AddressGuard({ allowPrivate: true, resolver }), 2000, 'test')
    const result = await poster.post(new URL(`http://hooks.example.invalid:${port}/x`), Buffer.from('{}'), {})
    poster.close()
    server.close()
    expect(result).toMatchObject({ status: 200, body: 'ok', error: null })
    expect(seen).toEqual(['hooks.example.invalid'])
  })
})
