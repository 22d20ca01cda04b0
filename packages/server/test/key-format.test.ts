import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32 } from '../src/auth/crc32.js'
import { checksumOf, displayOf, generateKey, parseKey } from '../src/auth/key-format.js'
import { BASE62 } from '../src/core/ids.js'
import { crc32 as zlibCrc32 } from 'node:zlib'

describe('key format', () => {
  it('generates keys of the documented shape for every prefix', () => {
    for (const prefix of ['sk_live_', 'sk_test_', 'pk_live_', 'pk_test_']) {
      const key = generateKey(prefix)
      expect(key).toMatch(new RegExp(`^${prefix}[0-9A-Za-z]{38}$`))
      expect(parseKey(key)).toMatchObject({ prefix, type: prefix.startsWith('sk') ? 'secret' : 'publishable' })
    }
  })

  it('computes the checksum as base62 CRC-32 (zlib) of the prefix and random part', () => {
    const head = 'sk_live_' + 'a'.repeat(32)
    let value = zlibCrc32(Buffer.from(head))
    let expected = ''
    for (let i = 0; i < 6; i++) {
      expected = BASE62[value % 62] + expected
      value = Math.floor(value / 62)
    }
    expect(checksumOf(head)).toBe(expected)
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926) // the standard CRC-32 check value
  })

  it('rejects malformed keys', () => {
    const key = generateKey('sk_live_')
    for (const bad of ['', 'sk_live_', key.slice(0, -1), key + 'x', 'xk_live_' + key.slice(8), key.replace('sk_live_', 'sk_prod_'), 'sk_live_' + 'A'.repeat(38)]) {
      expect(parseKey(bad)).toBeNull()
    }
  })

  it('fails the checksum for every single-character change of a key', () => {
    fc.assert(
      fc.property(fc.constantFrom('sk_live_', 'sk_test_', 'pk_live_', 'pk_test_'), fc.nat(), fc.nat(), (prefix, posSeed, charSeed) => {
        const key = generateKey(prefix)
        const position = 8 + (posSeed % 38)
        const current = key[position]!
        const replacement = BASE62.replace(current, '')[charSeed % 61]!
        const changed = key.slice(0, position) + replacement + key.slice(position + 1)
        return parseKey(changed) === null
      }),
      { numRuns: 2000 },
    )
  })

  it('shows prefix, first 4 and last 4 of the body in display', () => {
    const key = 'sk_live_Ab3xQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ9fQ2'
    expect(displayOf(key)).toBe('sk_live_Ab3x\u20269fQ2')
  })
})
