/**
 * Evaluates the alert rules: traffic spikes and error rates after each usage flush (from the
 * stored minute buckets, so every node's traffic counts), near-limit from rate-limit decisions.
 * A fired rule is stored, emitted as a `key.alert` domain event, and muted for that key for an hour.
 */
import type { Environment } from '../core/environment.js'
import { TtlCache } from '../lib/ttl-cache.js'
import { domainEvent } from '../events/outbox.js'
import type { UnitOfWork } from '../events/unit-of-work.js'
import { newId } from '../core/ids.js'
import type { UsageRow } from '../usage/store.js'
import type { AlertFiring } from './events.js'
import { type AlertRules, isErrorRate, isNearLimit, isTrafficSpike } from './rules.js'
import type { AlertStore } from './store.js'

const HOUR_MS = 3600_000

export class AlertEvaluator {
  private readonly rulesCache = new TtlCache<string, AlertRules>(10_000, 10_000)
  /** key|rule → when it last fired here: spares a storage read on every near-limit request. */
  private readonly muted = new TtlCache<string, true>(100_000, HOUR_MS)

  constructor(
    private readonly store: AlertStore,
    private readonly uow: UnitOfWork,
    private readonly onError: (error: unknown) => void,
  ) {}

  async rules(tenantId: string, environment: Environment): Promise<AlertRules> {
    const cacheKey = `${tenantId}:${environment}`
    let rules = this.rulesCache.get(cacheKey)
    if (rules === undefined) {
      rules = await this.store.rules(tenantId, environment)
      this.rulesCache.set(cacheKey, rules)
    }
    return rules
  }

  forgetRules(tenantId: string, environment: Environment): void {
    this.rulesCache.delete(`${tenantId}:${environment}`)
  }

  /** After a usage flush: the keys that had traffic are checked for spikes and error rates. */
  async afterFlush(rows: readonly UsageRow[], now = Date.now()): Promise<void> {
    const keys = new Map(rows.map((r) => [r.keyId, r]))
    for (const { keyId, tenantId, environment } of keys.values()) {
      const rules = await this.rules(tenantId, environment)
      if (!rules.trafficSpike && !rules.errorRate) continue
      const latestMinute = now - (now % 60_000)
      const minutes = await this.store.minutes(keyId, latestMinute - 60 * 60_000, 61)
      if (rules.trafficSpike && isTrafficSpike(rules.trafficSpike, minutes)) {
        await this.fire(tenantId, environment, keyId, { rule: 'trafficSpike', requestsLastMinute: minutes[60]!.requests })
      }
      const lastFive = minutes.slice(-5)
      if (rules.errorRate && isErrorRate(rules.errorRate, lastFive)) {
        const requests = lastFive.reduce((n, m) => n + m.requests, 0)
        const errors = lastFive.reduce((n, m) => n + m.errors, 0)
        await this.fire(tenantId, environment, keyId, { rule: 'errorRate', requests, errors })
      }
    }
  }

  /**
   * After a rate-limit decision: `used` of `limit` requests of the current window. Runs on every
   * keyed request, so it only reads memory; rules not cached yet are loaded for the next call.
   */
  checkNearLimit(keyId: string, tenantId: string, environment: Environment, used: number, limit: number): void {
    if (this.muted.get(`${keyId}|nearLimit`)) return
    const rules = this.rulesCache.get(`${tenantId}:${environment}`)
    if (rules === undefined) {
      this.rules(tenantId, environment).catch((error) => this.onError(error))
      return
    }
    if (rules.nearLimit && isNearLimit(rules.nearLimit, used, limit)) {
      this.fire(tenantId, environment, keyId, { rule: 'nearLimit', used, limit }).catch((error) => this.onError(error))
    }
  }

  private async fire(tenantId: string, environment: Environment, keyId: string, firing: AlertFiring) {
    const { rule, ...details } = firing
    const muteKey = `${keyId}|${rule}`
    if (this.muted.get(muteKey)) return
    this.muted.set(muteKey, true)
    const createdAt = new Date().toISOString()
    // Another node may have fired it within the hour.
    if (await this.store.firedSince(keyId, rule, new Date(Date.now() - HOUR_MS).toISOString())) return
    const alert = { id: newId('event'), keyId, rule, details, createdAt }
    await this.uow.run(async (trx, emit) => {
      await this.store.insertEvent(trx, tenantId, environment, alert)
      emit(domainEvent('key.alert', { tenantId, environment }, null, { alertId: alert.id, keyId, ...firing }))
    })
  }
}
