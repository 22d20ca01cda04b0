/** The client address every per-IP rule counts by (lib/client-address.ts). */
import { describe, expect, it } from 'vitest'
import { addressGroup, clientIp } from '../src/lib/client-address.js'

describe('addressGroup', () => {
  it('keeps IPv4 addresses as they are', () => {
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7')
  })

  it('reads an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(addressGroup('::ffff:cb00:7107')).toBe('203.0.113.7')
  })

  it('groups IPv6 addresses by /64, whatever their spelling', () => {
    const group = addressGroup('2001:db8:1:2::1')
    expect(group).toBe('2001:db8:1:2::/64')
    expect(addressGroup('2001:0db8:0001:0002:ffff:ffff:ffff:fffe')).toBe(group)
    expect(addressGroup('2001:DB8:1:2:0:0:0:9')).toBe(group)
    expect(addressGroup('2001:db8:1:3::1')).not.toBe(group)
  })

  it('expands a :: anywhere, and ignores a zone id', () => {
    expect(addressGroup('::1')).toBe('0:0:0:0::/64')
    expect(addressGroup('2001:db8::')).toBe('2001:db8:0:0::/64')
    expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(addressGroup('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64')
  })

  it('leaves anything that is not an IP address unchanged', () => {
    expect(addressGroup('unknown')).toBe('unknown')
  })
})

describe('clientIp', () => {
  const request = (forwarded?: string) => ({ socket: { remoteAddress: '10.0.0.1' }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } })

  it('uses the socket’s peer unless proxies are trusted', () => {
    expect(clientIp(request('198.51.100.9'), false)).toBe('10.0.0.1')
    expect(clientIp(request(), true)).toBe('10.0.0.1')
  })

  it('believes all of X-Forwarded-For when every proxy is trusted', () => {
    expect(clientIp(request('198.51.100.9, 172.16.0.2'), true)).toBe('198.51.100.9')
  })

  it('believes as many hops as configured, from the right', () => {
    expect(clientIp(request('6.6.6.6, 198.51.100.9, 172.16.0.2'), 1)).toBe('172.16.0.2')
    expect(clientIp(request('6.6.6.6, 198.51.100.9, 172.16.0.2'), 2)).toBe('198.51.100.9')
    expect(clientIp(request('198.51.100.9'), 5)).toBe('198.51.100.9')
    expect(clientIp(request('198.51.100.9'), 0)).toBe('10.0.0.1')
  })
})
