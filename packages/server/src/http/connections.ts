/**
 * Connection-level defences against slow and greedy clients (API.md §12): Node's HTTP timeouts,
 * set where the server is built, and a cap on the connections one client address holds open.
 *
 * WebSockets: Node applies the headers and request timeouts only to connections its HTTP parser
 * still owns. An upgrade hands the socket to the gateway's 'upgrade' listener and out of that
 * check, and ws clears the socket's idle timeout when it adopts it, so an open realtime socket is
 * governed by the gateway's heartbeat alone. The connection cap counts it until it closes.
 */
import type { Server, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import { addressGroup } from '../lib/client-address.js'

export interface ConnectionSettings {
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  /** 0 = no cap. */
  maxConnectionsPerIp: number
}

/** The Fastify server options that carry the timeouts. */
export function timeoutOptions(settings: ConnectionSettings) {
  const http: ServerOptions = {
    headersTimeout: settings.headersTimeoutMs,
    // Node looks for expired requests every 30 s by default, which would let a 10 s limit run to 40 s.
    connectionsCheckingInterval: Math.min(1000, Math.max(20, Math.floor(settings.headersTimeoutMs / 5))),
  }
  return {
    http,
    requestTimeout: settings.requestTimeoutMs,
    // Advertised as `Keep-Alive: timeout=<s>`; Node closes the idle socket one second after that.
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    // A connection silent both ways this long is closed too: a client that stops reading its response.
    connectionTimeout: settings.requestTimeoutMs,
  }
}

/**
 * Closes, before reading anything from it, a connection beyond `max` open ones from the same
 * address (IPv6 by /64). It counts TCP peers: behind a proxy that is the proxy (see config.ts).
 */
export function capConnectionsPerAddress(server: Server, max: number): void {
  if (max === 0) return
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    if (socket.remoteAddress === undefined) return // already gone
    const group = addressGroup(socket.remoteAddress)
    const count = open.get(group) ?? 0
    if (count >= max) {
      socket.destroy()
      return
    }
    open.set(group, count + 1)
    socket.once('close', () => {
      const left = (open.get(group) ?? 1) - 1
      if (left > 0) open.set(group, left)
      else open.delete(group)
    })
  })
}
