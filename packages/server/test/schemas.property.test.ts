/**
 * Schema properties (API.md §12), through the real routes in-process: metadata of any shape is
 * accepted exactly when it is at most 8 levels deep and 8 KiB as UTF-8 JSON, and then reads back as
 * sent; a date-time is refused with 400 or read as the instant it names (a leap second as the next
 * second). Never a 500. The oracles here are written independently of the server's checks.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES } from './helpers/databases.js'
import { type Response, type TestParley, startParley } from './helpers/parley.js'

const LIMITS = { maxDepth: 8, maxBytes: 8 * 1024 }
// Property runs send hundreds of requests with one key and on behalf of one user.
const UNLIMITED = {
  PARLEY_PLANS: JSON.stringify({ pro: { rateLimit: { limit: 1_000_000, windowSeconds: 60 } } }),
  PARLEY_USER_MESSAGE_RATE_LIMIT: '1000000/60',
}

/** Nesting as §12 counts it: the object itself is level 1, each object or array inside one more. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  return 1 + Math.max(0, ...Object.values(value).map(depthOf))
}
const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value))
/** What a JSON round trip makes of a value (-0 becomes 0). */
const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value))

// Characters of every UTF-8 length, JSON escapes, NUL and lone surrogates (6 bytes each as JSON).
const char = fc.oneof(
  fc.constantFrom('a', 'é', '€', '😀', '"', '\\', '\n', '\u0000', '\u2028'),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
)
// JSON.parse in the body parser refuses prototype-poisoning keys before any schema runs.
const key = fc.string({ unit: char, maxLength: 12 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k))
const leaf = fc.oneof(fc.string({ unit: char, maxLength: 30 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null))

/** A spine of objects and arrays `depth` deep, with leaves beside it and a padding string at the bottom. */
const spine = fc
  .record({
    depth: fc.integer({ min: 1, max: 12 }),
    arrays: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    keys: fc.array(key, { minLength: 12, maxLength: 12 }),
    beside: fc.array(fc.dictionary(key, leaf, { maxKeys: 3 }), { minLength: 12, maxLength: 12 }),
    // Around the 8 KiB line: 1 to 6 bytes a character.
    padding: fc.oneof(fc.constant(''), fc.string({ unit: char, minLength: 1000, maxLength: 4500 })),
  })
  .map(({ depth, arrays, keys, beside, padding }) => {
    let node: unknown = padding ? { padding } : {}
    if (arrays[depth - 1] && depth > 1) node = padding ? [padding] : []
    for (let level = depth - 1; level >= 1; level--) {
      const siblings = beside[level]!
      node = arrays[level - 1] && level > 1 ? [node, ...Object.values(siblings)] : { ...siblings, [keys[level]!]: node }
    }
    return node as Record<string, unknown>
  })
const metadata = fc.oneof(spine, fc.dictionary(key, fc.jsonValue({ maxDepth: 10 }), { maxKeys: 6 }))

describe.each(ENGINES)('metadata on %s', (engine) => {
  let t: TestParley
  let key: string
  beforeAll(async () => {
    t = await startParley({ engine, env: UNLIMITED })
    key = (await t.createTenant()).liveKey
    expect((await t.call('POST', '/v1/users', { auth: key, body: { id: 'writer' } })).status).toBe(201)
  })
  afterAll(() => t?.close())

  let n = 0
  /** Sends metadata where §12 names it; `read` fetches what was stored. */
  const targets: Record<string, (value: unknown) => Promise<{ res: Response; read: () => Promise<unknown> }>> = {
    user: async (value) => {
      const id = `user-${++n}`
      const res = await t.call('POST', '/v1/users', { auth: key, body: { id, metadata: value } })
      return { res, read: async () => (await t.call('GET', `/v1/users/${id}`, { auth: key })).body.metadata }
    },
    conversation: async (value) => {
      const res = await t.call('POST', '/v1/conversations', { auth: key, body: { type: 'group', members: ['writer'], metadata: value } })
      return { res, read: async () => (await t.call('GET', `/v1/conversations/${res.body.id}`, { auth: key })).body.metadata }
    },
    message: async (value) => {
      const conversation = await t.call('POST', '/v1/conversations', { auth: key, body: { type: 'group', members: ['writer'] } })
      const url = `/v1/conversations/${conversation.body.id}/messages`
      const res = await t.call('POST', url, { auth: key, body: { text: 'hi', senderId: 'writer', metadata: value } })
      return { res, read: async () => (await t.call('GET', url, { auth: key })).body.data[0].metadata }
    },
    key: async (value) => {
      const res = await t.call('POST', '/v1/keys', { auth: key, body: { name: 'k', type: 'secret', metadata: value } })
      return { res, read: async () => (await t.call('GET', `/v1/keys/${res.body.id}`, { auth: key })).body.metadata }
    },
  }

  it('is accepted iff within 8 levels and 8 KiB, reads back as sent, and is never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(metadata, fc.constantFrom(...Object.keys(targets)), async (value, target) => {
        // The body parser refuses prototype-poisoning keys (400) before any schema runs.
        fc.pre(!/"(__proto__|constructor)":/.test(JSON.stringify(value)))
        const within = depthOf(value) <= LIMITS.maxDepth && bytesOf(value) <= LIMITS.maxBytes
        const { res, read } = await targets[target]!(value)
        if (!within) {
          expect(res.status, res.text).toBe(400)
          expect(res.body.code).toBe('validation_failed')
          expect(res.body.errors).toEqual([{ param: 'metadata', message: expect.stringMatching(/levels deep|bytes/) }])
          return
        }
        expect(res.status, res.text).toBe(201)
        expect(await read()).toEqual(roundTrip(value))
      }),
      { numRuns: 120 },
    )
  })

  it('the limits are exact: 8 levels and 8,192 bytes pass, one more of either does not', async () => {
    const nest = (levels: number) => {
      let node: unknown = {}
      for (let i = 1; i < levels; i++) node = { a: node }
      return node
    }
    // "€" is 3 bytes; `{"p":"…"}` adds 8.
    const sized = (bytes: number) => ({ p: '€'.repeat(Math.floor((bytes - 8) / 3)) + 'x'.repeat((bytes - 8) % 3) })
    expect(bytesOf(sized(8192))).toBe(8192)
    for (const [value, status] of [
      [nest(8), 201],
      [nest(9), 400],
      [{ a: [[[[[[[1]]]]]]] }, 201],
      [{ a: [[[[[[[[1]]]]]]]] }, 400],
      [sized(8192), 201],
      [sized(8193), 400],
    ] as const) {
      for (const target of Object.keys(targets)) {
        const { res } = await targets[target]!(value)
        expect(res.status, `${target} ${JSON.stringify(value).slice(0, 40)}`).toBe(status)
      }
    }
  })

  it('keys holding line breaks read back (a Record schema’s key pattern once dropped them)', async () => {
    const value = { 'line\nbreak': 1, 'carriage\rreturn': 2, 'separator\u2028': { '\u2029': true } }
    for (const target of Object.keys(targets)) {
      const { res, read } = await targets[target]!(value)
      expect(res.status, target).toBe(201)
      expect(res.body.metadata, target).toEqual(value)
      expect(await read(), target).toEqual(value)
    }
  })

  it('metadata must be an object (or null)', async () => {
    for (const value of [[], 'text', 1, true]) {
      const { res } = await targets.user!(value)
      expect(res.status).toBe(400)
      expect(res.body.code).toBe('validation_failed')
    }
    expect((await targets.user!(null)).res.status).toBe(201)
  })
})

// ---- Date-times -------------------------------------------------------------------------------

interface Parts {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  fraction?: string
  separator: string
  zone: string
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')
const textOf = (p: Parts) =>
  `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}${p.separator}${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.fraction === undefined ? '' : `.${p.fraction}`}${p.zone}`

const offset = fc.record({ sign: fc.constantFrom('+', '-'), h: fc.integer({ min: 0, max: 25 }), m: fc.integer({ min: 0, max: 61 }) }).map(({ sign, h, m }) => `${sign}${pad(h)}:${pad(m)}`)
const zone = fc.oneof(fc.constantFrom('Z', 'z'), offset, fc.constantFrom('', '+01', '+0100', '-0530', 'UTC', '+1:00'))
const common = {
  year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 1990, max: 2100 })),
  month: fc.integer({ min: 0, max: 13 }),
  day: fc.integer({ min: 0, max: 32 }),
  fraction: fc.option(fc.stringMatching(/^\d{1,12}$/), { nil: undefined }),
  separator: fc.constantFrom('T', 't', ' ', '_'),
}
const anyParts: fc.Arbitrary<Parts> = fc.record({
  ...common,
  hour: fc.integer({ min: 0, max: 25 }),
  minute: fc.integer({ min: 0, max: 61 }),
  second: fc.integer({ min: 0, max: 61 }),
  zone,
})
/** Second 60, at a local time that is 23:59 in UTC for its offset about as often as not. */
const leapParts: fc.Arbitrary<Parts> = fc
  .record({ ...common, offsetMinutes: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), aligned: fc.boolean(), minute: fc.integer({ min: 0, max: 59 }) })
  .map(({ offsetMinutes, aligned, minute, ...rest }) => {
    const local = aligned ? (((23 * 60 + 59 + offsetMinutes) % 1440) + 1440) % 1440 : 23 * 60 + minute
    const sign = offsetMinutes < 0 ? '-' : '+'
    const abs = Math.abs(offsetMinutes)
    return { ...rest, hour: Math.floor(local / 60), minute: local % 60, second: 60, zone: `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}` }
  })

const EARLIEST = Date.parse('0000-01-01T00:00:00.000Z')
const LATEST = Date.parse('9999-12-31T23:59:59.999Z')

/** The instant RFC 3339 says these parts name, or null; Date.parse reads the well-formed ones. */
function instantOf(p: Parts): number | null {
  const daysInMonth = new Date(new Date(0).setUTCFullYear(p.year, p.month, 0)).getUTCDate()
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.day > daysInMonth) return null
  if (p.hour > 23 || p.minute > 59 || p.second > 60 || !['T', 't', ' '].includes(p.separator)) return null
  const zoneMatch = /^(?:[Zz]|[+-](\d\d):(\d\d))$/.exec(p.zone)
  if (!zoneMatch || Number(zoneMatch[1] ?? 0) > 23 || Number(zoneMatch[2] ?? 0) > 59) return null
  const leap = p.second === 60
  // Milliseconds only: V8's Date.parse misreads fractions of ten or more digits (".0004000000" as 4 ms).
  const fraction = p.fraction?.slice(0, 3)
  const ms = Date.parse(textOf({ ...p, fraction, separator: 'T', second: leap ? 59 : p.second, zone: p.zone.toUpperCase() }))
  if (leap) {
    const utc = new Date(ms)
    if (utc.getUTCHours() !== 23 || utc.getUTCMinutes() !== 59) return null
  }
  const instant = leap ? ms + 1000 : ms
  return instant >= EARLIEST && instant <= LATEST ? instant : null
}

describe('date-times', () => {
  let t: TestParley
  let key: string
  beforeAll(async () => {
    t = await startParley({ env: UNLIMITED })
    key = (await t.createTenant()).liveKey
  })
  afterAll(() => t?.close())

  const parts = fc.oneof(anyParts, leapParts)

  it('a key’s expiresAt: 400, or the instant it names (a leap second as the next second), never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(parts, async (p) => {
        const text = textOf(p)
        const instant = instantOf(p)
        const res = await t.call('POST', '/v1/keys', { auth: key, body: { name: 'expiring', type: 'secret', expiresAt: text } })
        if (instant === null || instant <= Date.now()) {
          expect(res.status, `${text}: ${res.text}`).toBe(400)
          expect(res.body.errors?.[0]?.param).toBe('expiresAt')
          return
        }
        expect(res.status, `${text}: ${res.text}`).toBe(201)
        expect(res.body.expiresAt).toBe(new Date(instant).toISOString())
      }),
      { numRuns: 400 },
    )
  })

  it('usage’s to: 400, or a window ending at the instant it names, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(parts, async (p) => {
        const text = textOf(p)
        const instant = instantOf(p)
        const res = await t.call('GET', `/v1/usage?to=${encodeURIComponent(text)}`, { auth: key })
        if (instant === null) {
          expect(res.status, `${text}: ${res.text}`).toBe(400)
          expect(res.body.code).toBe('validation_failed')
          return
        }
        expect(res.status, `${text}: ${res.text}`).toBe(200)
        // `to` is exclusive: the window ends one millisecond after the instant asked for.
        expect(res.body.to).toBe(new Date(instant + 1).toISOString())
      }),
      { numRuns: 300 },
    )
  })

  it.each([
    ['2026-12-31T23:59:60Z', '2027-01-01T00:00:00.000Z'],
    ['2026-12-31T18:59:60.25-05:00', '2027-01-01T00:00:00.250Z'],
    ['2030-06-30t23:59:60z', '2030-07-01T00:00:00.000Z'],
    ['2030-01-01 12:00:00+01:00', '2030-01-01T11:00:00.000Z'],
    ['2030-01-01T00:00:00.123456789Z', '2030-01-01T00:00:00.123Z'],
  ])('%s reads as %s', async (text, iso) => {
    const res = await t.call('POST', '/v1/keys', { auth: key, body: { name: 'expiring', type: 'secret', expiresAt: text } })
    expect(res.status).toBe(201)
    expect(res.body.expiresAt).toBe(iso)
  })

  it.each(['2030-06-30T12:00:60Z', '2030-01-01T00:00:00+01', '2030-01-01T00:00:00+0100', '2030-01-01T00:00:00', '9999-12-31T23:59:59-00:01', '2030-02-29T00:00:00Z'])(
    '%s → 400 validation_failed',
    async (text) => {
      const res = await t.call('POST', '/v1/keys', { auth: key, body: { name: 'expiring', type: 'secret', expiresAt: text } })
      expect(res.status).toBe(400)
      expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ param: 'expiresAt' }] })
    },
  )
})
