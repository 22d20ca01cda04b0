/** The `Parley` client of a tenant's backend: a secret key, and one object per resource. */
import { baseUrlOf, createRequester, type Call, type Requester } from './request.js'
import { conversations, keys, messages, push, tokens, usage, users, webhooks } from './resources.js'

export interface ParleyOptions {
  /** A secret key (`sk_live_…` / `sk_test_…`). Default: `PARLEY_API_KEY`. */
  apiKey?: string
  /** Parley's base URL, with or without `/v1`. Default: `PARLEY_API_URL`, then `http://localhost:8080`. */
  apiUrl?: string
  /** Each attempt's time limit (default 30 s); a timeout throws ConnectionError with code `timeout`. */
  timeoutMs?: number
  /** Retries after the first attempt (default 2, so 3 attempts at most); 0 turns retries off. */
  maxRetries?: number
  /** The fetch to call (default globalThis.fetch). */
  fetch?: typeof fetch
}

/**
 * @example
 * const parley = new Parley({ apiKey: process.env.PARLEY_API_KEY })
 * const { user } = await parley.users.upsert({ id: 'alice', displayName: 'Alice' })
 * const { token, expiresAt } = await parley.tokens.create({ userId: user.id })
 */
export class Parley {
  /** Parley's base URL without `/v1`: the `apiUrl` a session route hands to browsers. */
  readonly apiUrl: string
  readonly users: ReturnType<typeof users>
  readonly tokens: ReturnType<typeof tokens>
  readonly keys: ReturnType<typeof keys>
  readonly usage: ReturnType<typeof usage>
  readonly conversations: ReturnType<typeof conversations>
  readonly messages: ReturnType<typeof messages>
  readonly webhooks: ReturnType<typeof webhooks>
  readonly push: ReturnType<typeof push>
  /** The request path every resource uses, for a route this SDK has no method for yet. */
  readonly request: Requester

  constructor(options: ParleyOptions = {}) {
    const env = typeof process === 'undefined' ? {} : process.env
    const apiKey = options.apiKey ?? env.PARLEY_API_KEY
    if (!apiKey) throw new TypeError('Parley: no apiKey given and PARLEY_API_KEY is not set')
    this.apiUrl = baseUrlOf(options.apiUrl ?? env.PARLEY_API_URL ?? 'http://localhost:8080')
    const request = createRequester({
      apiKey,
      baseUrl: this.apiUrl,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    })
    this.request = request
    this.users = users(request)
    this.tokens = tokens(request)
    this.keys = keys(request)
    this.usage = usage(request)
    this.conversations = conversations(request)
    this.messages = messages(request)
    this.webhooks = webhooks(request)
    this.push = push(request)
  }
}

export type { Call }
