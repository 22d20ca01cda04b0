/**
 * The realtime facts the docs state, against the protocol module that defines them
 * (src/realtime/protocol.ts): the close-code tables of docs/realtime.md and docs/api.md, the frame
 * limits both name, and the codes `error` frames carry (docs/realtime.md, docs/errors.md). A
 * failure prints the row or number the docs should have.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../src/core/errors.js'
import { CLOSE, FRAME_RATE_LIMIT, MAX_FRAME_BYTES, SOCKET_ONLY_ERROR_CODES } from '../../src/realtime/protocol.js'

const DOCS = join(import.meta.dirname, '..', '..', '..', '..', 'docs')
const REALTIME_SOURCES = join(import.meta.dirname, '..', '..', 'src', 'realtime')
const read = (file: string) => readFileSync(join(DOCS, file), 'utf8')

/** From `start` (a line of the page) to the next heading of the same or a higher level. */
function section(text: string, start: string): string {
  const from = text.indexOf(`\n${start}\n`)
  expect(from, `"${start}" is missing`).toBeGreaterThanOrEqual(0)
  const level = /^#+/.exec(start)?.[0] ?? '##'
  const next = text.slice(from + start.length + 2).search(new RegExp(`\\n#{1,${level.length}} `))
  return next < 0 ? text.slice(from) : text.slice(from, from + start.length + 2 + next)
}

/** The body rows of the first table in `text`, as trimmed cells. */
function tableRows(text: string): string[][] {
  const lines = text.split('\n')
  const start = lines.findIndex((line) => line.startsWith('|'))
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    rows.push(line.slice(1, -1).split(' | ').map((cell) => cell.trim()))
  }
  return rows
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
const realtimeGuide = read('realtime.md')
const apiGuide = read('api.md')

describe('close codes', () => {
  const realtimeTable = tableRows(section(realtimeGuide, '## Close codes'))
  const apiRealtime = section(apiGuide, '## Realtime')
  const apiTable = tableRows(apiRealtime.slice(apiRealtime.indexOf('**Close codes**')))

  it('docs/realtime.md lists every close code of the protocol, by its name, and no other', () => {
    const expected = Object.entries(CLOSE).map(([name, code]) => `${code} \`${snakeCase(name)}\``)
    expect(realtimeTable.map(([code, name]) => `${code} ${name}`).sort()).toEqual(expected.sort())
  })

  it('docs/api.md has the same table, row for row', () => {
    expect(apiTable).toEqual(realtimeTable)
  })

  it('the rows name the protocol limits', () => {
    const row = (code: number) => realtimeTable.find(([c]) => c === String(code))!.join(' | ')
    expect(row(CLOSE.rateLimited)).toContain(`more than ${FRAME_RATE_LIMIT.limit} frames in ${FRAME_RATE_LIMIT.windowSeconds} seconds`)
    expect(row(CLOSE.tooBig)).toContain(`${MAX_FRAME_BYTES / 1024} KiB`)
    expect(row(CLOSE.badFrame)).toContain('binary frame')
  })
})

describe('frame limits', () => {
  const guides = { 'realtime.md': realtimeGuide, 'api.md': apiGuide }

  it('every frame rate the docs state is the protocol one', () => {
    for (const [file, text] of Object.entries(guides)) {
      const rates = [...text.matchAll(/(\d+) frames in (\d+) seconds/g)].map(([, limit, window]) => ({ limit: Number(limit), windowSeconds: Number(window) }))
      expect(rates.length, file).toBeGreaterThan(0)
      for (const rate of rates) expect(rate, file).toEqual(FRAME_RATE_LIMIT)
      expect(text, file).not.toMatch(/burst of \d+ frames|frames? (?:per|a) second/)
    }
  })

  it('every frame size the docs state is the protocol one', () => {
    for (const [file, text] of Object.entries(guides)) {
      const sizes = text.split('\n').filter((line) => /frame/i.test(line)).flatMap((line) => [...line.matchAll(/(\d+) KiB/g)].map(([, kib]) => Number(kib)))
      expect(sizes.length, file).toBeGreaterThan(0)
      for (const kib of sizes) expect(kib * 1024, file).toBe(MAX_FRAME_BYTES)
    }
  })
})

describe('error codes on sockets', () => {
  const documented = tableRows(section(realtimeGuide, '## Error frames')).flatMap(([codes]) => [...codes!.matchAll(/`([a-z_]+)`/g)].map(([, code]) => code!))
  const known = new Set([...Object.keys(ERROR_CODES), ...Object.keys(SOCKET_ONLY_ERROR_CODES)])

  it('docs/realtime.md lists only known codes, and every code only sockets send', () => {
    for (const code of documented) expect(known, code).toContain(code)
    for (const code of Object.keys(SOCKET_ONLY_ERROR_CODES)) expect(documented).toContain(code)
  })

  it('docs/realtime.md lists every code the gateway writes itself', () => {
    const written = readdirSync(REALTIME_SOURCES)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [...readFileSync(join(REALTIME_SOURCES, file), 'utf8').matchAll(/frames\.error\('([a-z_]+)'/g)].map(([, code]) => code!))
    expect(written.length).toBeGreaterThan(0)
    for (const code of written) expect(documented, code).toContain(code)
  })

  it('docs/errors.md has a section for every code, sockets included, and counts the HTTP ones right', () => {
    const errorsPage = read('errors.md')
    const sections = [...errorsPage.matchAll(/^## ([a-z_]+)$/gm)].map(([, code]) => code)
    expect(sections.sort()).toEqual([...known].sort())
    expect(errorsPage).toContain(`handles the ${Object.keys(ERROR_CODES).length} codes below`)
    const listed = tableRows(errorsPage.slice(errorsPage.indexOf('| status | code |'))).flatMap(([, codes]) => [...codes!.matchAll(/\[([a-z_]+)\]/g)].map(([, code]) => code))
    expect(listed.sort()).toEqual([...known].sort())
  })
})
