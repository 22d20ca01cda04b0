/**
 * GET /v1/realtime: the WebSocket gateway (API.md §6, §9, §12). The credential is checked by the
 * same entry point as HTTP (auth/credentials.ts), with the same per-address failed-auth throttle.
 * An upgrade that carries one (Authorization or x-api-key) is authenticated before the upgrade, and
 * a bad one is refused with an HTTP problem+json answer, no socket opened; otherwise the first
 * frame must be `auth` within 10 s, and unauthenticated sockets per address are capped. Each user,
 * visitor and secret key holds at most a configured number of sockets (socket-caps.ts).
 * One sweep per second drives token expiry for every socket and the heartbeat of a thirtieth of
 * them, so each socket is pinged every 30 s and never all of them at once.
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { type RawData, WebSocketServer, type WebSocket } from 'ws'
import { type Authenticator, type Presented, presentedIn } from '../auth/credentials.js'
import type { Invalidation } from '../cluster/invalidations.js'
import type { Presence } from '../cluster/presence.js'
import { ApiError } from '../core/errors.js'
import { writeRawProblem } from '../http/problem.js'
import { requestIdOf } from '../http/request-id.js'
import { type TrustProxy, addressGroup, clientIp } from '../lib/client-address.js'
import { type MaybePromise, andThen } from '../lib/maybe-promise.js'
import { MemoryLimiter } from '../limits/limiter-memory.js'
import { Connection, type ConnectionContext, closeCodeFor } from './connection.js'
import { AUTH_TIMEOUT_MS, CLOSE, EXPIRY_WARNING_MS, FrameError, HEARTBEAT_MS, MAX_FRAME_BYTES, frames, parseClientFrame } from './protocol.js'
import { type SocketCapSettings, SocketCaps } from './socket-caps.js'
import { type SocketCaller, socketCaller } from './socket-policy.js'

export interface GatewayOptions {
  publicUrl: string
  /** How the client address is read from an upgrade request (PARLEY_TRUST_PROXY), as for HTTP. */
  trustProxy: TrustProxy
  maxUnauthenticatedPerIp: number
  /** Frames a socket may send per window before it is closed with 4008. */
  frameLimit: { limit: number; windowSeconds: number }
  /** Open sockets per user or visitor, and per secret key. */
  socketCaps: SocketCapSettings
  /** Told of every end user's socket, open and closed (push skips users with one, on any node). */
  presence?: Presence
}

interface Frame {
  data: RawData
  isBinary: boolean
}

/** Sweeps (one a second) per heartbeat. */
const HEARTBEAT_TICKS = HEARTBEAT_MS / 1000

export class RealtimeGateway {
  // No permessage-deflate: broadcasts are written to the TCP socket as prebuilt frames (frame.ts),
  // which is only in order with ws's own frames while ws writes each of them synchronously.
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false })
  private readonly connections = new Set<Connection>()
  private readonly pendingPerIp = new Map<string, number>()
  private readonly frameLimiter = new MemoryLimiter()
  private readonly caps: SocketCaps
  /** Shared by every connection (memory per idle socket is a target). */
  private readonly connectionContext: ConnectionContext
  private sweepTimer: NodeJS.Timeout | null = null
  private ticks = 0
  /** Hands out heartbeat slots round-robin, so each sweep pings an even share of the sockets. */
  private slots = 0

  constructor(
    private readonly authenticator: Authenticator,
    private readonly context: Omit<ConnectionContext, 'reauthenticate'>,
    private readonly options: GatewayOptions,
    private readonly logger: Logger,
  ) {
    this.caps = new SocketCaps(options.socketCaps)
    // Re-checks (after an invalidation) and token.refresh use the shared check without the
    // throttle: a revoked key must not count its sockets' re-checks as failures of their addresses.
    this.connectionContext = {
      ...context,
      reauthenticate: async (credential) => socketCaller(await authenticator.authenticate({ credential })),
    }
  }

  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head).catch((error) => {
        this.logger.error({ err: error }, 'realtime upgrade failed')
        this.refuse(request, socket, new ApiError('internal_error', 'Upgrade failed'))
      })
    })
    this.sweepTimer = setInterval(() => this.sweep(), 1000)
    this.sweepTimer.unref()
  }

  get openSockets(): number {
    return this.connections.size
  }

  /** Re-checks the sockets a credential change may affect (revocation, suspension, deletion). */
  onInvalidation(change: Invalidation): void {
    for (const connection of this.connections) {
      const { caller } = connection
      const affected =
        change.type === 'everything' ||
        (change.type === 'tenant' && caller.tenant.id === change.tenantId) ||
        (change.type === 'key' && caller.kind === 'secret' && caller.key?.keyHash === change.hash) ||
        (change.type === 'user' &&
          caller.kind === 'session' &&
          caller.tenant.id === change.tenantId &&
          caller.environment === change.environment &&
          caller.userId === change.userId)
      if (affected) void connection.revalidate()
    }
  }

  /** Graceful shutdown: every socket is told to reconnect elsewhere (1012). */
  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    await this.frameLimiter.close()
    for (const connection of this.connections) connection.close(CLOSE.restarting, 'server restarting')
    for (const socket of this.wss.clients) socket.terminate()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (request.url ?? '').split('?')[0]
    if (path !== '/v1/realtime') return this.refuse(request, socket, new ApiError('not_found', `No route ${path}`))
    const address = clientIp(request, this.options.trustProxy)
    const presented: Presented = { credential: null }
    let caller: SocketCaller | null
    try {
      // Inside the guard, so an address over its failed-auth threshold is refused whatever it sends.
      caller = await this.authenticator.guard(address, () => {
        Object.assign(presented, presentedIn(request.headers))
        return presented.credential === null ? null : andThen(this.authenticator.authenticate(presented), socketCaller)
      })
    } catch (error) {
      if (!(error instanceof ApiError)) throw error
      return this.refuse(request, socket, error)
    }
    if (caller !== null) {
      const full = this.caps.refusal(caller)
      if (full) return this.refuse(request, socket, full)
      const [holder, credential] = [caller, presented.credential!]
      this.wss.handleUpgrade(request, socket, head, (ws) => void this.open(ws, holder, credential))
      return
    }
    const group = addressGroup(address)
    const pending = this.pendingPerIp.get(group) ?? 0
    if (pending >= this.options.maxUnauthenticatedPerIp) {
      const error = new ApiError('rate_limited', 'Too many unauthenticated sockets from this address', { headers: { 'retry-after': '10' } })
      return this.refuse(request, socket, error)
    }
    this.pendingPerIp.set(group, pending + 1)
    this.wss.handleUpgrade(request, socket, head, (ws) => this.awaitAuthFrame(ws, group, address))
  }

  /** Answers an upgrade request with a problem+json HTTP response instead of a socket. */
  private refuse(request: IncomingMessage, socket: Duplex, error: ApiError): void {
    writeRawProblem(socket, error, requestIdOf(request), this.options.publicUrl)
  }

  /** The socket holder a credential stands for: the shared check, the per-address throttle, the socket's policy. */
  private verify(address: string, credential: string): MaybePromise<SocketCaller> {
    return this.authenticator.guard(address, () => andThen(this.authenticator.authenticate({ credential }), socketCaller))
  }

  private awaitAuthFrame(ws: WebSocket, group: string, address: string): void {
    let settled = false
    const release = () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      const left = (this.pendingPerIp.get(group) ?? 1) - 1
      if (left > 0) this.pendingPerIp.set(group, left)
      else this.pendingPerIp.delete(group)
    }
    const timer = setTimeout(() => {
      release()
      ws.close(CLOSE.unauthorized, 'authenticate within 10 s')
    }, AUTH_TIMEOUT_MS)
    ws.once('close', release)
    // ws itself closes with 1009 (too big) or 1007 (bad UTF-8); the event must still be handled.
    ws.on('error', () => release())
    // Frames sent right behind the auth frame wait here until the connection is open.
    let token: string | null = null
    const early: Frame[] = []
    const onMessage = (data: RawData, isBinary: boolean) => {
      if (token !== null) return void early.push({ data, isBinary })
      try {
        const frame = isBinary ? null : parseClientFrame(data.toString())
        if (frame?.type !== 'auth') throw new FrameError('the first frame must be auth')
        token = frame.token
      } catch {
        release()
        return ws.close(CLOSE.unauthorized, 'the first frame must be auth')
      }
      const credential = token
      Promise.resolve()
        .then(() => this.verify(address, credential))
        .then(
          (caller) => {
            release()
            if (ws.readyState !== ws.OPEN) return // the client left while we checked
            ws.off('message', onMessage)
            const full = this.caps.refusal(caller)
            if (full) return ws.close(CLOSE.rateLimited, 'too many sockets')
            return this.open(ws, caller, credential, early)
          },
          (error) => {
            release()
            ws.close(closeCodeFor(error), error instanceof ApiError ? error.code : 'unauthorized')
          },
        )
    }
    ws.on('message', onMessage)
  }

  /**
   * Registers the connection, subscribes it, says ready, and only then handles frames: anything
   * that arrived earlier (buffered) is handled in order once the socket's subscriptions exist.
   */
  private async open(ws: WebSocket, caller: SocketCaller, credential: string, early: Frame[] = []): Promise<void> {
    const connection = new Connection(ws, caller, credential, this.connectionContext)
    connection.heartbeatSlot = this.slots++ % HEARTBEAT_TICKS
    this.connections.add(connection)
    const uncount = this.caps.take(caller)
    const absent = caller.kind === 'session' ? this.options.presence?.connected({ tenantId: caller.tenant.id, environment: caller.environment }, caller.userId) : undefined
    ws.on('pong', () => {
      connection.alive = true
    })
    ws.on('close', () => {
      uncount()
      absent?.()
      this.connections.delete(connection)
      this.context.hub.leaveAll(connection)
    })
    ws.on('error', () => ws.terminate())
    let ready = false
    ws.on('message', (data, isBinary) => {
      if (ready) this.onFrame(connection, data.toString(), isBinary)
      else early.push({ data, isBinary })
    })
    try {
      await connection.start()
    } catch (error) {
      this.logger.error({ err: error }, 'realtime start failed')
      return connection.close(CLOSE.restarting, 'try again')
    }
    ready = true
    for (const frame of early.splice(0)) this.onFrame(connection, frame.data.toString(), frame.isBinary)
  }

  private onFrame(connection: Connection, text: string, isBinary: boolean): void {
    if (isBinary) return connection.close(CLOSE.badFrame, 'frames are JSON text')
    if (!this.takeFrameToken(connection)) return connection.close(CLOSE.rateLimited, 'too many frames')
    let frame
    try {
      frame = parseClientFrame(text)
    } catch (error) {
      const e = error as FrameError
      return connection.write(frames.error('bad_frame', e.message, e.ref))
    }
    connection.handle(frame).catch((error) => {
      this.logger.error({ err: error, frameType: frame.type }, 'realtime frame failed')
      connection.write(frames.error('internal_error', 'Something went wrong on our side'))
    })
  }

  /** Frames per socket, counted by the same limiter as HTTP requests (in memory: a socket is local). */
  private takeFrameToken(connection: Connection): boolean {
    const { limit, windowSeconds } = this.options.frameLimit
    return this.frameLimiter.consumeNow(`frames:${connection.id}`, limit, windowSeconds).allowed
  }

  private sweep(): void {
    const now = Date.now()
    // Each socket is pinged on its own sweep of the 30: pinging 10,000 sockets in one sweep held the
    // event loop for ~100 ms (and their pongs came back together), a latency spike every 30 s.
    const slot = ++this.ticks % HEARTBEAT_TICKS
    for (const connection of this.connections) {
      const expiresAt = connection.expiresAt
      if (expiresAt !== null) {
        const left = expiresAt * 1000 - now
        if (left <= 0) {
          connection.close(CLOSE.tokenExpired, 'token_expired')
          continue
        }
        if (left <= EXPIRY_WARNING_MS && !connection.expiryWarned) {
          connection.expiryWarned = true
          connection.write(frames.expiring(new Date(expiresAt * 1000).toISOString()))
        }
      }
      if (connection.heartbeatSlot === slot) {
        connection.missedPongs = connection.alive ? 0 : connection.missedPongs + 1
        if (connection.missedPongs >= 2) {
          connection.socket.terminate()
          continue
        }
        connection.alive = false
        connection.socket.ping()
      }
    }
    // This second's share of the storage re-checks of subscriptions (subscription-recheck.ts).
    this.context.subscriptions.tick(this.connections)
  }
}
