/**
 * The provider objects of every tenant environment, built from their unsealed settings and kept
 * (an APNs provider holds an HTTP/2 session and a signed provider token, an FCM one an access
 * token: building one per notification would throw those away).
 *
 * Keyed by tenant, environment and type, and checked against the stored row each time it is used:
 * every PUT seals the private part anew (a fresh IV), so a provider whose sealed text differs from
 * the row's is stale and is replaced. Whoever reads the row — the fan-out and the worker read the
 * providers of each batch — therefore sees a PUT or a DELETE made on any node from its next batch
 * on, with no invalidation message to lose. The node that handled the change also drops its copy
 * at once (`forget`). A provider unused for IDLE_MS is closed.
 */
import type { AddressGuard } from '../delivery/address-guard.js'
import { createApnsProvider } from './apns.js'
import { createFcmProvider } from './fcm.js'
import type { PushScope } from './model.js'
import type { ProviderType, PushProvider } from './provider.js'
import { type AnySettings, type StoredProvider, scopeKey } from './settings.js'
import { createWebPushProvider } from './webpush.js'

export interface ProviderEndpoints {
  /** PARLEY_APNS_URL (null: Apple's host for the tenant's `production` flag). */
  apnsUrl: string | null
  /** PARLEY_FCM_URL. */
  fcmUrl: string
  /** The webhook address rules: Web Push endpoints and FCM token URIs are the tenant's to choose. */
  guard: AddressGuard
  /** PARLEY_PUSH_TIMEOUT_MS: the deadline of one request. */
  timeoutMs: number
}

/** Builds a provider from its settings (the real ones, or a test's). */
export type ProviderFactory = (provider: AnySettings) => PushProvider

export function providerFactory({ apnsUrl, fcmUrl, guard, timeoutMs }: ProviderEndpoints): ProviderFactory {
  return (provider) => {
    switch (provider.type) {
      case 'apns':
        return createApnsProvider(provider.settings, { baseUrl: apnsUrl, timeoutMs })
      case 'fcm':
        return createFcmProvider(provider.settings, { baseUrl: fcmUrl, guard, timeoutMs })
      case 'webpush':
        return createWebPushProvider(provider.settings, { guard, timeoutMs })
    }
  }
}

interface Cached {
  sealed: string
  provider: PushProvider
  usedAt: number
}

/** A provider replaced or idle is closed after this long, so sends already under way on it finish. */
const RETIRE_AFTER_MS = 30_000
const IDLE_MS = 10 * 60_000

export class ProviderCache {
  private readonly cached = new Map<string, Cached>()
  private readonly retiring = new Set<PushProvider>()
  private readonly sweeper: NodeJS.Timeout

  constructor(
    private readonly unseal: (stored: StoredProvider) => AnySettings,
    private readonly build: ProviderFactory,
    private readonly onError: (error: unknown, context: string) => void,
  ) {
    this.sweeper = setInterval(() => this.sweep(), IDLE_MS / 2)
    this.sweeper.unref()
  }

  /** The provider for these stored settings (built now if it is new or they changed). */
  get(stored: StoredProvider): PushProvider {
    const key = keyOf(stored, stored.type)
    const now = Date.now()
    const hit = this.cached.get(key)
    if (hit && hit.sealed === stored.secret) {
      hit.usedAt = now
      return hit.provider
    }
    if (hit) this.retire(hit.provider)
    const provider = this.build(this.unseal(stored))
    this.cached.set(key, { sealed: stored.secret, provider, usedAt: now })
    return provider
  }

  /** The settings changed on this node (PUT, DELETE): the next use builds afresh. */
  forget(scope: PushScope, type: ProviderType): void {
    const key = keyOf(scope, type)
    const hit = this.cached.get(key)
    if (!hit) return
    this.cached.delete(key)
    this.retire(hit.provider)
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper)
    const all = [...[...this.cached.values()].map((c) => c.provider), ...this.retiring]
    this.cached.clear()
    this.retiring.clear()
    await Promise.all(all.map((provider) => provider.close().catch((error) => this.onError(error, 'closing a push provider'))))
  }

  private retire(provider: PushProvider): void {
    this.retiring.add(provider)
    const timer = setTimeout(() => {
      this.retiring.delete(provider)
      provider.close().catch((error) => this.onError(error, 'closing a push provider'))
    }, RETIRE_AFTER_MS)
    timer.unref()
  }

  private sweep(): void {
    const now = Date.now()
    for (const [key, entry] of this.cached) {
      if (now - entry.usedAt < IDLE_MS) continue
      this.cached.delete(key)
      this.retire(entry.provider)
    }
  }
}

const keyOf = (scope: PushScope, type: ProviderType) => `${scopeKey(scope)} ${type}`
