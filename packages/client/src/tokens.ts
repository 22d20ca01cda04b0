/**
 * Where session tokens come from: the app's `tokenProvider` (its session route), or, for website
 * visitors, a publishable key (`POST /v1/identity/init`, renewed with `/v1/identity/refresh`).
 * One request at a time: every caller that needs a new token waits for the same one. While the
 * client is connected, a token is renewed before it expires and handed to the open socket.
 */
import { AuthenticationError } from '@parley/protocol/errors'
import { type HttpOptions, asParleyError, call } from './http.js'
import { randomId } from './random.js'
import type { ParleyOptions, TokenGrant } from './types.js'

/** A token this close to its expiry (or within the last quarter of its life, if shorter) is not used for a new request or socket. */
const MIN_LIFE_MS = 10_000
/** A visitor token with this much life left is exchanged with /v1/identity/refresh; past that, the visitor id opens a new session. */
const STILL_VALID_MS = 2_000
/** Tokens longer-lived than twice this are renewed this long before they expire, shorter ones at half-life. */
const RENEW_BEFORE_MS = 60_000
/** A `token.expiring` warning about a token younger than this is ignored: short-lived tokens are warned about at birth. */
const WARNING_MIN_AGE_MS = 10_000

type TokenSourceOptions = Pick<ParleyOptions, 'tokenProvider' | 'publishableKey' | 'visitorId' | 'profile'> & { apiUrl: string; http: HttpOptions }

export class TokenSource {
  private token: string | null = null
  /** Epoch ms; 0 when unknown. */
  private expiresAt = 0
  private obtainedAt = 0
  private inflight: Promise<string> | null = null
  private timer: ReturnType<typeof setTimeout> | undefined
  private keepingFresh = false

  constructor(
    private readonly options: TokenSourceOptions,
    /** Each new token (the open socket sends it with `token.refresh`). */
    private readonly onToken: (token: string) => void,
    /** A renewal that failed in the background (the next call or reconnect asks again). */
    private readonly onError: (error: unknown) => void,
  ) {
    if (!options.tokenProvider && !options.publishableKey) throw new TypeError('Parley needs tokenProvider or publishableKey')
  }

  /** A token with some life left: the current one, or a new one. */
  get(): Promise<string> {
    return this.token && this.usable() ? Promise.resolve(this.token) : this.renew(this.token)
  }

  /** A new token instead of `stale`, unless a newer one than `stale` already came. */
  renew(stale: string | null): Promise<string> {
    if (this.token !== null && this.token !== stale && this.usable()) return Promise.resolve(this.token)
    this.inflight ??= this.fetchToken().finally(() => (this.inflight = null))
    return this.inflight
  }

  private usable(): boolean {
    return this.expiresAt === 0 || this.expiresAt - Date.now() > Math.min(MIN_LIFE_MS, (this.expiresAt - this.obtainedAt) / 4)
  }

  /** The server warned that the socket's token expires within a minute. */
  expiring(): void {
    if (Date.now() - this.obtainedAt >= WARNING_MIN_AGE_MS) this.renewInBackground()
  }

  /** Renews tokens before they expire while on (while the client is connected). */
  keepFresh(on: boolean): void {
    this.keepingFresh = on
    this.schedule()
  }

  private renewInBackground(): void {
    this.renew(this.token).catch(this.onError)
  }

  private schedule(): void {
    clearTimeout(this.timer)
    if (!this.keepingFresh || !this.expiresAt) return
    const left = this.expiresAt - Date.now()
    const delay = left > 2 * RENEW_BEFORE_MS ? left - RENEW_BEFORE_MS : left / 2
    this.timer = setTimeout(() => this.renewInBackground(), Math.max(delay, 1000))
  }

  private async fetchToken(): Promise<string> {
    let grant: TokenGrant
    try {
      grant = await this.grant()
    } catch (error) {
      throw asParleyError(error, 'token_provider_failed')
    }
    if (typeof grant?.token !== 'string' || grant.token === '') {
      // E.g. the session route answered `{ "error": "Unauthorized" }`: the user is signed out.
      throw new AuthenticationError({ status: 401, code: 'authentication_required', detail: 'tokenProvider returned no token' })
    }
    this.token = grant.token
    this.expiresAt = expiryOf(grant)
    this.obtainedAt = Date.now()
    this.schedule()
    this.onToken(grant.token)
    return grant.token
  }

  private async grant(): Promise<TokenGrant> {
    const { tokenProvider, apiUrl, http } = this.options
    if (tokenProvider) {
      const grant = await tokenProvider()
      return typeof grant === 'string' ? { token: grant } : grant
    }
    if (this.token && this.expiresAt - Date.now() > STILL_VALID_MS) {
      try {
        const fresh = await call<{ sessionToken: string; expiresAt: string }>(http, `${apiUrl}/v1/identity/refresh`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.token}` },
        })
        return { token: fresh.sessionToken, expiresAt: fresh.expiresAt }
      } catch (error) {
        // Expired after idling, or revoked: the visitor id opens the same visitor again below.
        if (!(error instanceof AuthenticationError)) throw error
      }
    }
    const { profile } = this.options
    const opened = await call<{ sessionToken: string; expiresAt: string }>(http, `${apiUrl}/v1/identity/init`, {
      method: 'POST',
      headers: { 'x-api-key': this.options.publishableKey! },
      body: { visitorId: this.visitorId(), ...(profile && { profile }) },
    })
    return { token: opened.sessionToken, expiresAt: opened.expiresAt }
  }

  /** The visitor's device id: given, kept in localStorage from an earlier visit, or a new random one kept there. */
  private visitorId(): string {
    if (this.options.visitorId) return this.options.visitorId
    const key = `parley.visitorId.${this.options.publishableKey}`
    let id = randomId(32)
    try {
      const storage = globalThis.localStorage
      id = storage?.getItem(key) ?? id
      storage?.setItem(key, id)
    } catch {
      // Storage disabled (e.g. some third-party frames): a new visitor for each page load.
    }
    this.options.visitorId = id
    return id
  }
}

/** Epoch ms at which a grant's token expires: its `expiresAt`, else the token's own `exp` claim, else 0 (unknown). */
function expiryOf(grant: TokenGrant): number {
  if (grant.expiresAt !== undefined) {
    const at = new Date(grant.expiresAt).getTime()
    if (at > 0) return at
  }
  try {
    const payload = grant.token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')
    const exp = JSON.parse(atob(payload)).exp
    return typeof exp === 'number' ? exp * 1000 : 0
  } catch {
    return 0
  }
}
