import { afterAll, beforeAll, expect, it } from 'vitest'
import { type TestParley, startParley } from './helpers/parley.js'

let t: TestParley
beforeAll(async () => {
  t = await startParley()
})
afterAll(() => t.close())

it('needs the admin key, and answers problem+json without it', async () => {
  const none = await t.call('GET', '/metrics')
  expect(none.status).toBe(401)
  expect(none.body.code).toBe('authentication_required')
  const tenant = await t.createTenant()
  const wrong = await t.call('GET', '/metrics', { auth: tenant.liveKey })
  expect(wrong.status).toBe(403)
  expect(wrong.headers['content-type']).toContain('application/problem+json')
})

it('counts requests by route and status, and failed authentications by code', async () => {
  await t.call('GET', '/healthz')
  await t.call('GET', '/v1/me', { auth: 'sk_live_' + 'A'.repeat(38) })
  const res = await t.call('GET', '/metrics', { auth: t.adminKey })
  expect(res.status).toBe(200)
  expect(res.text).toMatch(/parley_http_requests_total\{route="\/healthz",method="GET",status="200"\} [1-9]/)
  expect(res.text).toMatch(/parley_auth_failures_total\{code="invalid_api_key"\} 1/)
  expect(res.text).toContain('parley_http_request_duration_seconds_bucket')
  expect(res.text).toMatch(/parley_realtime_open_sockets 0/)
})

it('is public with PARLEY_METRICS_PUBLIC=true', async () => {
  const open = await startParley({ env: { PARLEY_METRICS_PUBLIC: 'true' } })
  try {
    expect((await open.call('GET', '/metrics')).status).toBe(200)
  } finally {
    await open.close()
  }
})
