/**
 * The socket's state machine (connecting → open → reconnecting → closed), apart from what the
 * frames mean (that is the event store's and the Parley class's business), the way centrifuge-js
 * keeps its transport apart from its subscriptions. It authenticates with the first frame (the
 * only way a browser can), treats each close code as API.md §6 says, reconnects with jittered
 * exponential backoff, and drops a socket that stopped answering.
 */
import { AuthenticationError, ConnectionError, ParleyError, PermissionError, RateLimitError, ValidationError } from '@parley/protocol/errors'
import { AUTH_TIMEOUT_MS, CLOSE, HEARTBEAT_MS, type ServerFrame } from '@parley/protocol/realtime'
import { asParleyError } from './http.js'
import type { ConnectionState, WebSocketClass, WebSocketLike } from './types.js'

const MIN_DELAY_MS = 500
const MAX_DELAY_MS = 20_000
/** After 4008 (too many frames or sockets) the next try waits at least this long. */
const RATE_LIMITED_DELAY_MS = 5_000
/** A socket silent this long is asked for a pong (the server's own pings are invisible to browser code). */
const IDLE_MS = HEARTBEAT_MS - 5_000
/** How long a pong may take before the socket counts as dead. */
const PONG_TIMEOUT_MS = 10_000
/** After `online`, `offline` or the page becoming visible, an open socket must answer this fast. */
const PROBE_TIMEOUT_MS = 5_000

/** Each failed attempt raises the ceiling of the next delay by this factor. */
const GROWTH = 1.5

/**
 * The delay before reconnect attempt `attempt` (0 first): uniform between 0.5 s and a ceiling that
 * grows 1.5 times per attempt from 1 s up to 20 s ("full jitter" above a floor), so clients dropped
 * together by a restart come back spread out rather than in one wave. (Doubling instead left the
 * clients of a server that took 5 s to restart waiting up to 16 s more once it was back: see
 * bench/client-reconnect.)
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, 2 * MIN_DELAY_MS * GROWTH ** attempt)
  return MIN_DELAY_MS + random() * (ceiling - MIN_DELAY_MS)
}

export interface ConnectionHooks {
  /** A token for the next socket. */
  token(): Promise<string>
  /** A new token instead of one the server refused. */
  renew(refused: string): Promise<string>
  /** `ready` arrived: the socket is open. */
  ready(frame: Extract<ServerFrame, { type: 'ready' }>): void
  /** Any other frame. */
  frame(frame: ServerFrame): void
  state(state: ConnectionState): void
  /** The socket is gone (frames awaiting an answer will get none). */
  dropped(): void
  /** The client stopped for good: the error says why. */
  failed(error: ParleyError): void
}

export class Connection {
  state: ConnectionState = 'closed'
  private socket: WebSocketLike | null = null
  private attempt = 0
  /** Set once a refused token was renewed; a second refusal stops the client. */
  private renewedAfterRefusal = false
  /** The token the server refused: the next try asks for a new one instead. */
  private refused: string | null = null
  /** Open at least once since connect(): from then on, failures reconnect instead of rejecting connect(). */
  private wasOpen = false
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private idleTimer: ReturnType<typeof setInterval> | undefined
  private lastFrameAt = 0
  private probeSentAt = 0
  private opening: { promise: Promise<void>; resolve(): void; reject(error: ParleyError): void } | null = null
  private unwatch: () => void = () => {}

  constructor(
    private readonly url: string,
    private readonly WebSocketClass: WebSocketClass | undefined,
    private readonly hooks: ConnectionHooks,
  ) {}

  /** Resolves once the socket is open (`ready`); rejects if the first try fails or the client stops. */
  open(): Promise<void> {
    if (this.state === 'open') return Promise.resolve()
    if (!this.opening) {
      let resolve!: () => void
      let reject!: (error: ParleyError) => void
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
      this.opening = { promise, resolve, reject }
    }
    if (this.state === 'closed') {
      this.wasOpen = false
      this.attempt = 0
      this.renewedAfterRefusal = false
      this.refused = null
      this.unwatch = this.watchNetwork()
      this.setState('connecting')
      void this.try()
    }
    return this.opening.promise
  }

  /** Closes the socket and stops reconnecting; resolves once the socket is closed (at most 1 s). */
  close(): Promise<void> {
    const socket = this.socket
    this.stop(new ConnectionError({ code: 'closed', detail: 'The client was closed' }))
    if (!socket || socket.readyState > 1) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1000)
      socket.onclose = () => (clearTimeout(timer), resolve())
      socket.close(1000, 'client closed')
    })
  }

  /** Sends a frame if the socket is open; false otherwise. */
  send(frame: object): boolean {
    if (this.state !== 'open' || !this.socket) return false
    this.socket.send(JSON.stringify(frame))
    return true
  }

  /** The network came back or the page became visible: reconnect now, or check the open socket still answers. */
  nudge(): void {
    if (this.state === 'reconnecting' && this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer)
      void this.try()
    } else if (this.state === 'open') {
      this.probe(PROBE_TIMEOUT_MS)
    }
  }

  private async try(): Promise<void> {
    this.retryTimer = undefined
    let token: string
    try {
      token = await (this.refused ? this.hooks.renew(this.refused) : this.hooks.token())
    } catch (error) {
      return this.failed(asParleyError(error))
    }
    if (this.state === 'closed') return
    let socket: WebSocketLike
    try {
      if (!this.WebSocketClass) throw new TypeError('No WebSocket here: pass WebSocket (from the ws package on Node 20) in the options')
      socket = new this.WebSocketClass(this.url)
    } catch (error) {
      return this.stop(asParleyError(error, 'no_websocket'))
    }
    this.socket = socket
    // A socket that opens but never says ready (a proxy that swallows frames) is given up on.
    const readyTimer = setTimeout(() => this.drop(socket), AUTH_TIMEOUT_MS + 5_000)
    socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', token }))
    socket.onmessage = (message) => {
      if (socket !== this.socket) return
      this.lastFrameAt = Date.now()
      this.probeSentAt = 0
      let frame: ServerFrame
      try {
        frame = JSON.parse(String(message.data))
      } catch {
        return
      }
      if (frame.type !== 'ready') return this.hooks.frame(frame)
      clearTimeout(readyTimer)
      this.attempt = 0
      this.renewedAfterRefusal = false
      this.refused = null
      this.wasOpen = true
      this.setState('open')
      this.idleTimer = setInterval(() => this.checkIdle(), PONG_TIMEOUT_MS)
      this.opening?.resolve()
      this.opening = null
      this.hooks.ready(frame)
    }
    socket.onclose = (event) => {
      clearTimeout(readyTimer)
      if (socket === this.socket) this.closed(event.code, event.reason, token)
    }
    // A close event follows every error.
    socket.onerror = () => {}
  }

  /** What to do after the server (or the network) closed the socket. */
  private closed(code: number, reason: string, token: string): void {
    this.detach()
    if (code === CLOSE.unauthorized || code === CLOSE.tokenExpired || code === CLOSE.tokenRevoked) {
      const error = new AuthenticationError({ status: 401, code: reason || 'unauthorized', detail: `The socket was closed (${code}): the session token was refused` })
      // Refresh and retry at once; refused again with a fresh token, the user is no longer allowed in.
      if (this.renewedAfterRefusal) return this.stop(error)
      this.renewedAfterRefusal = true
      this.refused = token
      if (this.state === 'open') this.setState('reconnecting')
      return void this.try()
    }
    if (code === CLOSE.forbidden) return this.stop(new PermissionError({ status: 403, code: reason || 'forbidden', detail: `The socket was closed (${code}): not allowed` }))
    if (code === CLOSE.badFrame) return this.stop(new ValidationError({ status: 400, code: 'bad_frame', detail: `The socket was closed (${code}): a frame was refused` }))
    const error =
      code === CLOSE.rateLimited
        ? new RateLimitError({ status: 429, code: 'rate_limited', detail: `The socket was closed (${code}): too many frames or sockets` })
        : new ConnectionError({ code: 'connection_failed', detail: `The socket closed (${code}${reason ? ` ${reason}` : ''})` })
    this.failed(error)
  }

  /** A failure that reconnecting may cure, unless nothing was ever open or the error is about the user's rights. */
  private failed(error: ParleyError): void {
    if (this.state === 'closed') return
    if (!this.wasOpen || error instanceof AuthenticationError || error instanceof PermissionError) return this.stop(error)
    this.setState('reconnecting')
    const delay = backoffDelay(this.attempt++)
    this.retryTimer = setTimeout(() => this.try(), error instanceof RateLimitError ? Math.max(delay, RATE_LIMITED_DELAY_MS) : delay)
  }

  /** Gives up on a socket that does not answer: it counts as dropped by the network. */
  private drop(socket: WebSocketLike): void {
    if (socket !== this.socket) return
    this.detach()
    socket.close()
    this.failed(new ConnectionError({ code: 'timeout', detail: 'The socket stopped answering' }))
  }

  private detach(): void {
    this.socket = null
    clearInterval(this.idleTimer)
    this.probeSentAt = 0
    this.hooks.dropped()
  }

  private checkIdle(): void {
    if (Date.now() - this.lastFrameAt > IDLE_MS) this.probe(PONG_TIMEOUT_MS)
  }

  private probe(timeoutMs: number): void {
    const socket = this.socket
    if (this.probeSentAt || !socket) return
    this.probeSentAt = Date.now()
    this.send({ type: 'ping' })
    setTimeout(() => {
      if (this.probeSentAt && socket === this.socket) this.drop(socket)
    }, timeoutMs)
  }

  /** Stops for good: no socket, no timers, connect() rejected, `failed` told (unless the app closed it). */
  private stop(error: ParleyError): void {
    const socket = this.socket
    const wasClosing = error.code === 'closed'
    if (socket) {
      this.socket = null
      clearInterval(this.idleTimer)
      if (!wasClosing) socket.close()
      this.hooks.dropped()
    }
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.unwatch()
    this.unwatch = () => {}
    const opening = this.opening
    this.opening = null
    const wasRunning = this.state !== 'closed'
    this.setState('closed')
    opening?.reject(error)
    if (wasRunning && !wasClosing) this.hooks.failed(error)
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return
    this.state = state
    this.hooks.state(state)
  }

  /** In browsers: try at once when the network returns or the page is shown again; check the socket when the network goes. */
  private watchNetwork(): () => void {
    const page = globalThis as unknown as Partial<Window>
    if (!page.addEventListener || !page.removeEventListener) return () => {}
    const nudge = () => this.nudge()
    const visible = () => page.document?.visibilityState === 'visible' && this.nudge()
    const offline = () => this.state === 'open' && this.probe(PROBE_TIMEOUT_MS)
    page.addEventListener('online', nudge)
    page.addEventListener('offline', offline)
    page.document?.addEventListener('visibilitychange', visible)
    return () => {
      page.removeEventListener!('online', nudge)
      page.removeEventListener!('offline', offline)
      page.document?.removeEventListener('visibilitychange', visible)
    }
  }
}
