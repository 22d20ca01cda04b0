// Minimal local stand-ins for the push providers, for the B10 benchmark: they answer every request
// at once with success and note when each notification arrived, for which message and device.
// They check nothing beyond the request's shape: verifying the APNs provider token (ES256) and the
// FCM assertion (RS256) is the job of the protocol fakes the tests use
// (packages/server/test/push/fakes/), and doing it here would put the fakes' own crypto in the figures.
import http from 'node:http'
import http2 from 'node:http2'
import { randomUUID } from 'node:crypto'

/** Arrivals by message: how many distinct devices got a notification for it, and when. */
class Arrivals {
  /** messageId → { devices: Set, times: number[] } */
  byMessage = new Map()
  all = []
  duplicates = 0
  waiters = []

  note(messageId, device) {
    const at = Date.now()
    let entry = this.byMessage.get(messageId)
    if (!entry) this.byMessage.set(messageId, (entry = { devices: new Set(), times: [] }))
    if (entry.devices.has(device)) this.duplicates++
    entry.devices.add(device)
    entry.times.push(at)
    this.all.push(at)
    for (const waiter of [...this.waiters]) if (entry.devices.size >= waiter.count && waiter.messageId === messageId) waiter.done()
  }

  /** Resolves with the arrival times once `count` devices got `messageId`; rejects after `timeoutMs`. */
  until(messageId, count, timeoutMs) {
    return new Promise((resolve, reject) => {
      const waiter = {
        messageId,
        count,
        done: () => {
          clearTimeout(timer)
          this.waiters = this.waiters.filter((w) => w !== waiter)
          resolve(this.byMessage.get(messageId).times.slice())
        },
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new Error(`${this.byMessage.get(messageId)?.devices.size ?? 0} of ${count} notifications for ${messageId} arrived within ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiters.push(waiter)
      if ((this.byMessage.get(messageId)?.devices.size ?? 0) >= count) waiter.done()
    })
  }

  /** Notifications that arrived in [from, to] (ms since the epoch). */
  between(from, to) {
    return this.all.filter((at) => at >= from && at <= to).length
  }
}

function readJson(stream, onBody) {
  const chunks = []
  stream.on('data', (chunk) => chunks.push(chunk))
  stream.on('end', () => {
    let body = null
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      // Not JSON: answered as a bad request.
    }
    onBody(body)
  })
}

/**
 * APNs over HTTP/2 without TLS (h2c; Parley reaches it through PARLEY_APNS_URL=http://…):
 * `POST /3/device/<token>` → 200 with an `apns-id`, as Apple answers a delivered notification.
 */
export async function startApnsStandIn() {
  const arrivals = new Arrivals()
  const sessions = new Set()
  let sessionsOpened = 0
  let refused = 0
  const server = http2.createServer()
  server.on('session', (session) => {
    sessionsOpened++
    sessions.add(session)
    session.on('close', () => sessions.delete(session))
  })
  server.on('stream', (stream, headers) => {
    const path = headers[':path'] ?? ''
    readJson(stream, (body) => {
      const messageId = body?.parley?.messageId
      const ok = headers[':method'] === 'POST' && path.startsWith('/3/device/') && headers['apns-push-type'] === 'alert' && headers.authorization?.startsWith('bearer ') && messageId
      if (!ok) {
        refused++
        stream.respond({ ':status': 400, 'content-type': 'application/json' })
        stream.end(JSON.stringify({ reason: 'BadRequest' }))
        return
      }
      arrivals.note(messageId, path.slice('/3/device/'.length))
      stream.respond({ ':status': 200, 'apns-id': randomUUID() })
      stream.end()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    arrivals,
    get sessionsOpened() {
      return sessionsOpened
    },
    get refused() {
      return refused
    },
    close() {
      for (const session of sessions) session.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

/**
 * FCM HTTP v1 over HTTP/1.1, both halves on one server: the OAuth token endpoint (`POST /token`, the
 * service account's token_uri) hands out an access token; `POST /v1/projects/<id>/messages:send`
 * with that token → 200 `{ name }`, as FCM answers an accepted message.
 */
export async function startFcmStandIn() {
  const arrivals = new Arrivals()
  const accessToken = `bench-${randomUUID()}`
  let tokenExchanges = 0
  let refused = 0
  const server = http.createServer((request, response) => {
    readJson(request, (body) => {
      if (request.method === 'POST' && request.url === '/token') {
        tokenExchanges++
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: accessToken, expires_in: 3600, token_type: 'Bearer' }))
        return
      }
      const messageId = body?.message?.data?.messageId
      const device = body?.message?.token
      const ok = request.method === 'POST' && /^\/v1\/projects\/[^/]+\/messages:send$/.test(request.url) && request.headers.authorization === `Bearer ${accessToken}` && messageId && device
      if (!ok) {
        refused++
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 400, status: 'INVALID_ARGUMENT', message: 'bad request' } }))
        return
      }
      arrivals.note(messageId, device)
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: `projects/bench/messages/${randomUUID()}` }))
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}`
  return {
    url,
    tokenUri: `${url}/token`,
    arrivals,
    get tokenExchanges() {
      return tokenExchanges
    },
    get refused() {
      return refused
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
