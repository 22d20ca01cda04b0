/**
 * Every error is RFC 9457 problem+json with a code from the closed list (API.md §0.2, §0.3, §9):
 * routing, parsing, validation, body size, media type, request ids, and oversized headers that
 * Node's HTTP parser refuses before Fastify sees the request.
 */
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../src/core/errors.js'
import { type TestParley, type TestTenant, capturedLogs, startParley } from './helpers/parley.js'
import { expectProblem } from './helpers/problems.js'

let t: TestParley
let tenant: TestTenant
beforeAll(async () => {
  t = await startParley()
  tenant = await t.createTenant()
})
afterAll(() => t.close())

describe('routing comes before authentication', () => {
  it('an unknown path is 404 not_found without credentials', async () => {
    const body = expectProblem(await t.call('GET', '/v1/nothing-here'), 404, 'not_found')
    expect(body.detail).toContain('/v1/nothing-here')
  })

  it('an unknown path outside /v1 is 404 not_found too', async () => {
    expectProblem(await t.call('GET', '/wp-admin.php?x=1'), 404, 'not_found')
  })

  it('a known path with the wrong method is 404 not_found', async () => {
    expectProblem(await t.call('PUT', '/v1/keys'), 404, 'not_found')
    expectProblem(await t.call('DELETE', '/v1/me', { auth: tenant.liveKey }), 404, 'not_found')
  })
})

describe('request bodies', () => {
  const post = (payload: string, contentType = 'application/json') =>
    t.call('POST', '/v1/keys', { auth: tenant.liveKey, headers: { 'content-type': contentType }, body: payload })

  it('malformed JSON is 400 invalid_request', async () => {
    expectProblem(await post('{"name": "k", "type": '), 400, 'invalid_request')
  })

  it('an empty body declared as JSON is 400 invalid_request', async () => {
    expectProblem(await post(''), 400, 'invalid_request')
  })

  it('an unknown body field is 400 validation_failed naming the field', async () => {
    const body = expectProblem(await post(JSON.stringify({ name: 'k', type: 'secret', colour: 'red' })), 400, 'validation_failed')
    expect(body.errors).toEqual([{ param: 'colour', message: expect.any(String) }])
  })

  it('a missing required field is named in errors[]', async () => {
    const body = expectProblem(await post(JSON.stringify({ type: 'secret' })), 400, 'validation_failed')
    expect(body.errors.map((e: { param: string }) => e.param)).toEqual(['name'])
  })

  it('a nested field of the wrong type is named with its path', async () => {
    const res = await post(JSON.stringify({ name: 'k', type: 'secret', rateLimit: { limit: 'lots', windowSeconds: 60 } }))
    const body = expectProblem(res, 400, 'validation_failed')
    expect(body.errors[0].param).toBe('rateLimit.limit')
  })

  it('an array element is named with its index', async () => {
    const res = await post(JSON.stringify({ name: 'k', type: 'publishable', allowedOrigins: ['https://ok.example', 'not an origin'] }))
    const body = expectProblem(res, 400, 'validation_failed')
    expect(body.errors).toEqual([{ param: 'allowedOrigins[1]', message: expect.any(String) }])
  })

  it('types are not coerced in bodies ("60" is not a number)', async () => {
    const res = await post(JSON.stringify({ name: 'k', type: 'secret', rateLimit: { limit: 10, windowSeconds: '60' } }))
    expect(expectProblem(res, 400, 'validation_failed').errors[0].param).toBe('rateLimit.windowSeconds')
  })

  it('a text/plain body is 415 unsupported_media_type', async () => {
    expectProblem(await post('name=k', 'text/plain'), 415, 'unsupported_media_type')
  })

  it('a form-encoded body is 415 unsupported_media_type', async () => {
    expectProblem(await post('name=k&type=secret', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type')
  })

  it('a body over 1 MiB is 413 payload_too_large', async () => {
    const big = JSON.stringify({ name: 'k', type: 'secret', metadata: { blob: 'x'.repeat(1024 * 1024) } })
    expectProblem(await post(big), 413, 'payload_too_large')
  })

  it('a body just under 1 MiB gets past the size check (and fails on metadata size instead)', async () => {
    const body = JSON.stringify({ name: 'k', type: 'secret', metadata: { blob: 'x'.repeat(1000 * 1000) } })
    expect(Buffer.byteLength(body)).toBeLessThan(1024 * 1024)
    const problem = expectProblem(await post(body), 400, 'validation_failed')
    expect(problem.errors[0].param).toBe('metadata')
  })
})

describe('query strings', () => {
  it('an out-of-range limit is 400 validation_failed naming limit', async () => {
    for (const limit of ['0', '201', 'many']) {
      const body = expectProblem(await t.call('GET', `/v1/keys?limit=${limit}`, { auth: tenant.liveKey }), 400, 'validation_failed')
      expect(body.errors[0].param).toBe('limit')
    }
  })

  it('a cursor this API never returned is 400, not 500', async () => {
    const body = expectProblem(await t.call('GET', '/v1/keys?cursor=bm90LWEtY3Vyc29y', { auth: tenant.liveKey }), 400, 'validation_failed')
    expect(body.errors[0].param).toBe('cursor')
  })
})

describe('request ids', () => {
  it('every response carries x-request-id, req_… by default, and problem bodies repeat it', async () => {
    const ok = await t.call('GET', '/v1/me', { auth: tenant.liveKey })
    expect(ok.status).toBe(200)
    expect(ok.headers['x-request-id']).toMatch(/^req_[A-Za-z0-9]{16,}$/)
    const failed = await t.call('GET', '/v1/me')
    expect(expectProblem(failed, 401, 'authentication_required').requestId).toMatch(/^req_/)
    expect(failed.headers['x-request-id']).not.toBe(ok.headers['x-request-id'])
  })

  it('keeps a sane inbound x-request-id', async () => {
    const sane = ['abc-123.def:ghi_jkl', 'a'.repeat(128)]
    for (const id of sane) {
      const res = await t.call('GET', '/v1/me', { headers: { 'x-request-id': id } })
      expect(res.headers['x-request-id']).toBe(id)
      expect(res.body.requestId).toBe(id)
    }
  })

  it('replaces an insane inbound x-request-id with req_…', async () => {
    const insane = ['a'.repeat(129), 'has space', '<script>', 'slash/id', 'ünïcode']
    for (const id of insane) {
      const res = await t.call('GET', '/v1/me', { headers: { 'x-request-id': id } })
      expect(res.headers['x-request-id'], id).toMatch(/^req_/)
      expect(res.body.requestId, id).toBe(res.headers['x-request-id'])
    }
  })
})

describe('oversized headers on a real socket', () => {
  /** Sends raw bytes to a listening Parley and resolves with everything it answers. */
  function rawRequest(port: number, request: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1')
      let answer = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk) => (answer += chunk))
      socket.on('end', () => resolve(answer))
      socket.on('error', (error) => (answer ? resolve(answer) : reject(error)))
      socket.write(request)
    })
  }

  it('answers headers over 16 KB with 431 problem+json', async () => {
    await t.parley.app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = t.parley.app.server.address() as { port: number }
    const answer = await rawRequest(port, `GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(17 * 1024)}\r\n\r\n`)
    const [head, body] = answer.split('\r\n\r\n')
    expect(head).toMatch(/^HTTP\/1\.1 431 /)
    expect(head).toMatch(/\r\ncontent-type: application\/problem\+json/i)
    const problem = JSON.parse(body!)
    expect(problem).toMatchObject({ status: 431, code: 'invalid_request', title: expect.any(String) })
    // Even a response written before routing has a request id, and the header and body agree.
    const requestId = /\r\nx-request-id: ([^\r]+)/i.exec(head!)?.[1]
    expect(requestId).toMatch(/^req_[A-Za-z0-9]{16,}$/)
    expect(problem.requestId).toBe(requestId)
  })

  it('answers garbage that is not HTTP with 400 problem+json', async () => {
    const { port } = t.parley.app.server.address() as { port: number }
    const [head, body] = (await rawRequest(port, 'HELLO THERE\r\n\r\n')).split('\r\n\r\n')
    expect(head).toMatch(/^HTTP\/1\.1 400 /)
    expect(JSON.parse(body!)).toMatchObject({ status: 400, code: 'invalid_request' })
  })

  it('a normal request on the same server still works', async () => {
    const { port } = t.parley.app.server.address() as { port: number }
    const res = await fetch(`http://127.0.0.1:${port}/v1/me`, { headers: { 'x-api-key': tenant.liveKey } })
    expect(res.status).toBe(200)
  })
})

describe('bugs never leak', () => {
  it('a failure inside a handler is 500 internal_error without the exception, logged with the request id', async () => {
    const broken = await startParley()
    try {
      const own = await broken.createTenant()
      expect((await broken.call('GET', '/v1/me', { auth: own.liveKey })).status).toBe(200) // key cached
      await broken.parley.store.db.destroy() // every query now throws "driver has already been destroyed"
      const res = await broken.call('GET', '/v1/keys', { auth: own.liveKey })
      expectProblem(res, 500, 'internal_error')
      expect(res.text).not.toMatch(/destroyed|driver|kysely|at .*:\d+/i)
      const logged = capturedLogs.filter((line) => line.includes(res.body.requestId) && line.includes('destroyed'))
      expect(logged.length).toBeGreaterThan(0)
    } finally {
      await broken.parley.close().catch(() => {}) // storage is already gone
    }
  })

  it('no problem body carries a stack trace', async () => {
    const res = await t.call('POST', '/v1/keys', { auth: tenant.liveKey, headers: { 'content-type': 'application/json' }, body: '[' })
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/)
    expect(res.text).not.toContain('SyntaxError')
  })
})

describe('the error reference page', () => {
  it('serves /docs/errors with an anchor for every code that problem types point at', async () => {
    const t = await startParley()
    try {
      const problem = await t.call('GET', '/v1/nowhere')
      expect(problem.body.type).toBe(`${t.publicUrl}/docs/errors#not_found`)
      const page = await t.call('GET', '/docs/errors')
      expect(page.status).toBe(200)
      expect(page.headers['content-type']).toContain('text/html')
      for (const code of Object.keys(ERROR_CODES)) expect(page.text).toContain(`id="${code}"`)
    } finally {
      await t.close()
    }
  })
})
