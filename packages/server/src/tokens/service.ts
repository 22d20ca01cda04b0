/**
 * Minting session tokens for a tenant's users (API.md §4.2, §12). A token never carries more than
 * the key that minted it: scopes asked for must be within the key's, and a token minted without
 * `scopes` carries the key's own (so only an unscoped key mints unscoped tokens).
 */
import { firstMissing, isValidScope, isWithin } from '../auth/scopes.js'
import type { MintRequest } from '../auth/session-tokens.js'
import type { SecretCaller } from '../core/caller.js'
import type { Environment } from '../core/environment.js'
import { ApiError, invalidParam } from '../core/errors.js'
import type { MaybePromise } from '../lib/maybe-promise.js'

export interface TokenMinter {
  mint(request: MintRequest): Promise<{ token: string; expiresAt: string }>
}

/** The users tokens are minted for (the user cache). */
export interface TokenUsers {
  get(tenantId: string, environment: Environment, userId: string): MaybePromise<{ user: { kind: 'user' | 'visitor' } } | null>
}

export interface MintInput {
  userId: string
  expiresIn: number
  scopes?: string[]
}

export class TokenService {
  constructor(
    private readonly minter: TokenMinter,
    private readonly users: TokenUsers,
  ) {}

  async mint(caller: SecretCaller, input: MintInput): Promise<{ token: string; expiresAt: string }> {
    const scopes = tokenScopes(caller.scopes, input.scopes)
    const user = (await this.users.get(caller.tenant.id, caller.environment, input.userId))?.user
    if (!user) throw new ApiError('user_not_found', `No user ${input.userId} in this environment; upsert it first`)
    return this.minter.mint({
      tenantId: caller.tenant.id,
      environment: caller.environment,
      userId: input.userId,
      kind: user.kind,
      expiresInSeconds: input.expiresIn,
      scopes,
    })
  }
}

/**
 * The scopes a token gets: those asked for, if the minting key holds them all, else the key's own.
 * An empty list asks for nothing narrower, like leaving `scopes` out (an empty list would read as
 * unscoped, so it must never be how a scoped key's token comes out).
 */
export function tokenScopes(keyScopes: readonly string[], asked: readonly string[] | undefined): string[] {
  if (asked === undefined || asked.length === 0) return [...keyScopes]
  asked.forEach((scope, i) => {
    if (!isValidScope(scope)) throw invalidParam(`scopes[${i}]`, `unknown scope "${scope}"`)
  })
  if (!isWithin(asked, keyScopes)) {
    throw new ApiError('insufficient_scope', `The token would have ${firstMissing(asked, keyScopes)}, which the calling key lacks`)
  }
  return [...asked]
}
