/**
 * Judging a leak report (API.md §11), token by token, with constant work each: the format and
 * checksum first (a token that is not one of our keys never reaches storage), then one indexed
 * read by its SHA-256, as key verification does. A real key that still works is revoked through
 * the keys' own revocation path (so every node forgets it as after POST /v1/keys/{id}/revoke), and
 * in the same transaction its report is kept, an alert event is recorded and `key.leaked` is
 * emitted beside `key.revoked`. The token itself is never stored or logged: only its hash is read
 * with, and answered.
 *
 * Idempotent: a key is revoked once (a second report, or two at once on two nodes, find it revoked
 * and emit nothing), and a report is kept once per key and place (URL and source), so the same
 * report twice changes nothing. A report of a key revoked or expired before is still a true
 * positive, and its place is kept when new: the tenant sees everywhere the key was found.
 */
import type { KeyRecord } from '../core/key-record.js'
import { keyStatus } from '../core/key-record.js'
import type { KeyLookup } from '../auth/api-keys.js'
import { parseKey } from '../auth/key-format.js'
import type { AlertStore } from '../alerts/store.js'
import { newId } from '../core/ids.js'
import { domainEvent } from '../events/outbox.js'
import type { KeyService } from '../keys/service.js'
import { sha256Hex } from '../lib/crypto.js'
import { nowIso } from '../lib/time.js'
import type { LeakReportStore } from './store.js'

/** One reported token, as code hosts send it. */
export interface ReportedToken {
  token: string
  /** The reporter's name for the kind of secret (e.g. parley_secret_key): echoed, never interpreted. */
  type: string
  url: string
  source: string
}

export type LeakLabel = 'true_positive' | 'false_positive'

/** The answer for one token, in the code hosts' field names. */
export interface TokenVerdict {
  token_hash: string
  token_type: string
  label: LeakLabel
}

export interface LeakServiceDeps {
  /** Keys by the SHA-256 of their plaintext (keys/store.ts). */
  keyLookup: KeyLookup
  keys: KeyService
  reports: LeakReportStore
  alerts: AlertStore
  /** A key was revoked because it leaked (a log line for the operator; never the token). */
  onRevoked?: (key: KeyRecord, report: Omit<ReportedToken, 'token'>) => void
}

export class LeakService {
  constructor(private readonly deps: LeakServiceDeps) {}

  /** One verdict per reported token, in order. Tokens are judged one after another: a report holds at most one storage connection. */
  async report(tokens: readonly ReportedToken[]): Promise<TokenVerdict[]> {
    const verdicts: TokenVerdict[] = []
    for (const reported of tokens) {
      const tokenHash = sha256Hex(reported.token)
      const isKey = await this.judge(reported, tokenHash)
      verdicts.push({ token_hash: tokenHash, token_type: reported.type, label: isKey ? 'true_positive' : 'false_positive' })
    }
    return verdicts
  }

  /** Is it one of our keys (whatever its status)? If it still works, it stops now. */
  private async judge(reported: ReportedToken, tokenHash: string): Promise<boolean> {
    if (parseKey(reported.token) === null) return false
    const key = await this.deps.keyLookup.findByHash(tokenHash)
    if (key === null) return false
    await this.act(key, reported)
    return true
  }

  private async act(key: KeyRecord, reported: ReportedToken): Promise<void> {
    const { keys, reports, alerts } = this.deps
    // Where it was found is kept and sent on; the token is not, even if a reporter put it there.
    const url = withoutToken(reported.url, reported.token)
    const source = withoutToken(reported.source, reported.token)
    const { type } = reported
    if (keyStatus(key) === 'active') {
      const revoked = await keys.revokeRecord(key, async (trx, emit, reportedAt) => {
        await reports.record({ keyId: key.id, url, source, reportedAt }, trx)
        const alert = { id: newId('event'), keyId: key.id, rule: 'leaked' as const, details: { url, source }, createdAt: reportedAt }
        await alerts.insertEvent(trx, key.tenantId, key.environment, alert)
        emit(domainEvent('key.leaked', key, null, { keyId: key.id, environment: key.environment, url, source }))
      })
      if (revoked) {
        this.deps.onRevoked?.(key, { type, url, source })
        return
      }
    }
    // Revoked or expired already (perhaps by an earlier report, or one on another node just now).
    await reports.record({ keyId: key.id, url, source, reportedAt: nowIso() })
  }
}

const withoutToken = (text: string, token: string): string => (text.includes(token) ? text.split(token).join('[REDACTED]') : text)
