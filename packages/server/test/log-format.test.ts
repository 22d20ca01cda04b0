/**
 * Readable logs (http/log-format.ts): one line per request with method, route, status and time;
 * colours only when asked; secrets redacted as in JSON lines. The choice between the formats by
 * terminal is tested on the real command (cli.test.ts).
 */
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../src/http/logger.js'
import { prettyLine } from '../src/http/log-format.js'
import { type TestParley, capturedLogs, startParley } from './helpers/parley.js'

const ESC = '\u001b['
const requestLine = JSON.stringify({
  level: 30,
  time: '2026-11-23T14:14:18.965Z',
  requestId: 'req_qUtA53NgmZ4Mq1VuJ3WUc9',
  method: 'GET',
  route: '/v1/conversations/:id/messages',
  statusCode: 404,
  responseTime: 6.86,
  msg: 'request completed',
})

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { lines, stream }
}

describe('readable log lines', () => {
  it('put a request on one line: time, level, method, route, status, milliseconds, request id', () => {
    const line = prettyLine(requestLine, false)
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.965 INFO {2}GET \/v1\/conversations\/:id\/messages 404 6\.86 ms req_qUtA53NgmZ4Mq1VuJ3WUc9\n$/)
    expect(line).not.toContain(ESC)
  })

  it('colour the level and the status by class when colours are on', () => {
    const line = prettyLine(requestLine, true)
    expect(line).toContain(`${ESC}33m404${ESC}0m`) // 4xx in yellow
    expect(line).toContain(`${ESC}32mINFO `) // info in green
    expect(prettyLine(requestLine.replace('404', '503'), true)).toContain(`${ESC}31m503${ESC}0m`)
  })

  it('show other lines as their message and fields, and an error with its stack below', () => {
    const entry = { level: 50, time: Date.now(), msg: 'closing failed', resource: 'broker', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at close (x.js:1:1)' } }
    const [first, second] = prettyLine(JSON.stringify(entry), false).split('\n')
    expect(first).toMatch(/ ERROR closing failed boom resource="broker"$/)
    expect(second).toBe('    at close (x.js:1:1)')
  })

  it('pass anything that is not JSON through unchanged', () => {
    expect(prettyLine('not json\n', false)).toBe('not json\n')
  })
})

describe('the logger', () => {
  const secret = 'sk_live_' + 'A'.repeat(38)
  // A configured admin key may hold characters JSON escapes; it must not reappear once decoded.
  const adminKey = 'admin"key\\with-json-escapes-0123456789'

  it('writes JSON lines by default, readable ones when asked, and redacts secrets in both', () => {
    for (const format of ['json', 'pretty'] as const) {
      const { lines, stream } = capture()
      const logger = createLogger('info', [adminKey], stream, { format, colors: false })
      logger.warn({ detail: `leaked ${secret}` }, `admin key ${adminKey}`)
      const text = lines.join('')
      expect(text).not.toContain(secret)
      expect(text).not.toContain(adminKey)
      expect(text).not.toContain(JSON.stringify(adminKey).slice(1, -1))
      expect(text).toContain('sk_live_[REDACTED]')
      if (format === 'json') expect(JSON.parse(text)).toMatchObject({ level: 40 })
      else expect(text).toMatch(/ WARN {2}admin key \[REDACTED\] detail="leaked sk_live_\[REDACTED\]"\n$/)
    }
  })

  it('with format auto, writes JSON to any destination but a terminal', () => {
    const { lines, stream } = capture()
    createLogger('info', [], stream, { format: 'auto', colors: true }).info('hello')
    expect(JSON.parse(lines.join(''))).toMatchObject({ msg: 'hello' })
  })
})

describe('a Parley with PARLEY_LOG_FORMAT=pretty', () => {
  let t: TestParley
  afterEach(() => t.close())

  it('logs each request as one readable line, with the request id the client saw', async () => {
    t = await startParley({ env: { PARLEY_LOG_FORMAT: 'pretty' } })
    const tenant = await t.createTenant()
    const requestId = `pretty-${Date.now()}`
    const response = await t.call('GET', '/v1/keys/key_missing', { auth: tenant.liveKey, headers: { 'x-request-id': requestId } })
    expect(response.status).toBe(404)
    const line = capturedLogs.find((entry) => entry.includes(requestId))
    expect(line).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO {2}GET /v1/keys/:id 404 [\\d.]+ ms ${requestId}\\n$`))
  })
})
