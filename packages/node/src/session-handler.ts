/**
 * The session route of a tenant's backend in one line (SDK.md): identify the signed-in user with
 * the app's own `getUser`, upsert it into Parley, mint a session token, answer seed 000's shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Parley } from './parley.js'

/** The user a request is signed in as, in the app's own terms; null when nobody is. */
export interface SessionUser {
  id: string
  displayName?: string
}

export interface SessionHandlerOptions<R> {
  parley: Parley
  /** Reads the app's own session: an Express/Node `req`, or a fetch `Request` for `.fetch`. */
  getUser: (req: R) => SessionUser | null | Promise<SessionUser | null>
  /** Token lifetime in seconds (60…86400, default 3600). */
  expiresIn?: number
}

/** What the route answers: everything a client SDK's tokenProvider needs. */
export interface Session {
  token: string
  expiresAt: string
  /** Parley's API URL with `/v1` (seed 000's form; the client SDK accepts it with or without). */
  apiUrl: string
  chatUserId: string
  displayName: string
}

export interface SessionHandler {
  /** Express/Node middleware: `app.post('/parley-session', handler)`. */
  (req: IncomingMessage, res: ServerResponse, next?: (error: unknown) => void): Promise<void>
  /** For fetch-style frameworks (Hono, Next.js route handlers, Bun, Deno): `Request → Response`. */
  fetch(request: Request): Promise<Response>
}

interface Answer {
  status: number
  body: Session | { error: string }
}

/**
 * @example
 * app.post('/parley-session', createSessionHandler({
 *   parley,
 *   getUser: async (req) => req.user ? { id: req.user.id, displayName: req.user.name } : null,
 * }))
 */
export function createSessionHandler<R = any>(options: SessionHandlerOptions<R>): SessionHandler {
  const answer = async (req: R): Promise<Answer> => {
    const user = await options.getUser(req)
    if (!user) return { status: 401, body: { error: 'Unauthorized' } }
    try {
      const { user: upserted } = await options.parley.users.upsert({ id: user.id, ...(user.displayName !== undefined && { displayName: user.displayName }) })
      const { token, expiresAt } = await options.parley.tokens.create({ userId: user.id, expiresIn: options.expiresIn ?? 3600 })
      const displayName = upserted.displayName ?? user.displayName ?? user.id
      return { status: 200, body: { token, expiresAt, apiUrl: `${options.parley.apiUrl}/v1`, chatUserId: user.id, displayName } }
    } catch {
      // The browser learns only that chat is down; the cause is the backend's to log (wrap getUser/parley to log it).
      return { status: 503, body: { error: 'Chat unavailable' } }
    }
  }
  const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' }
  const handler = (async (req: IncomingMessage, res: ServerResponse, next?: (error: unknown) => void) => {
    let result: Answer
    try {
      result = await answer(req as R)
    } catch (error) {
      // getUser failed: that is the app's own error, for its error handler (Express's `next`).
      if (next) return next(error)
      throw error
    }
    res.writeHead(result.status, headers).end(JSON.stringify(result.body))
  }) as SessionHandler
  handler.fetch = async (request: Request) => {
    const { status, body } = await answer(request as R)
    return new Response(JSON.stringify(body), { status, headers })
  }
  return handler
}
