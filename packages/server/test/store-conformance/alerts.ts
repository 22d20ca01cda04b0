/**
 * AlertStore: one rule set per tenant environment (a second write replaces it), fired alerts paged
 * newest first within a tenant environment, and the per-minute counts the rules read.
 */
import { beforeAll, expect, it } from 'vitest'
import { type AlertEvent, AlertStore } from '../../src/alerts/store.js'
import type { Store } from '../../src/storage/database.js'
import { emptyCounters } from '../../src/usage/counters.js'
import { UsageStore } from '../../src/usage/store.js'
import type { OpenStore } from '../helpers/engines.js'
import { type Places, type Scope, expectUniqueViolation, isoAt, newestFirst, nextId, twoTenants, walkPages } from './fixtures.js'

function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
  return { id: nextId('alr_'), keyId: 'key_alerted', rule: 'errorRate', details: { percent: 42.5, note: 'ünïcödé' }, createdAt: isoAt(0), ...overrides }
}

export function alertStoreConformance(openStore: OpenStore): void {
  let store: Store
  let alerts: AlertStore
  let places: Places
  beforeAll(async () => {
    store = await openStore()
    alerts = new AlertStore(store.db)
    places = await twoTenants(store)
  })

  const insert = (scope: Scope, event: AlertEvent) => alerts.insertEvent(store.db, scope.tenantId, scope.environment, event)

  it('keeps one rule set per tenant environment: none at first, a second write replaces the first', async () => {
    const { a, aTest, b } = places
    expect(await alerts.rules(a.tenantId, a.environment)).toEqual({})
    await alerts.putRules(a.tenantId, a.environment, { nearLimit: { percent: 90 }, errorRate: { percent: 5, minRequests: 20 } })
    await alerts.putRules(a.tenantId, a.environment, { trafficSpike: { factor: 3, minRequests: 100 } })
    await alerts.putRules(aTest.tenantId, aTest.environment, { nearLimit: { percent: 50 } })
    expect(await alerts.rules(a.tenantId, a.environment)).toEqual({ trafficSpike: { factor: 3, minRequests: 100 } })
    expect(await alerts.rules(aTest.tenantId, aTest.environment)).toEqual({ nearLimit: { percent: 50 } })
    expect(await alerts.rules(b.tenantId, b.environment)).toEqual({})
  })

  it('pages fired alerts of one tenant environment newest first without gaps or repeats when createdAt ties', async () => {
    const { a, aTest, b } = await twoTenants(store)
    const made = [6, 6, 6, 6, 2, 8].map((minute) => alertEvent({ createdAt: isoAt(minute) }))
    for (const event of made) await insert(a, event)
    await insert(aTest, alertEvent())
    await insert(b, alertEvent())
    const walked = await walkPages((limit, before) => alerts.events(a.tenantId, a.environment, limit, before), (e) => e.createdAt)
    expect(walked).toEqual(newestFirst(made, (e) => e.createdAt))
    expect(await alerts.events(aTest.tenantId, aTest.environment, 10, null)).toHaveLength(1)
  })

  it('tells whether a rule fired for a key since a time', async () => {
    const keyId = nextId('key_')
    await insert(places.a, alertEvent({ keyId, rule: 'nearLimit', createdAt: isoAt(30) }))
    expect(await alerts.firedSince(keyId, 'nearLimit', isoAt(30))).toBe(true)
    expect(await alerts.firedSince(keyId, 'nearLimit', isoAt(31))).toBe(false)
    expect(await alerts.firedSince(keyId, 'errorRate', isoAt(0))).toBe(false)
    expect(await alerts.firedSince(nextId('key_'), 'nearLimit', isoAt(0))).toBe(false)
  })

  it("reads a key's requests and errors per minute, missing minutes as zero", async () => {
    const keyId = nextId('key_')
    const at = (minute: number, requests: number, errors: number) => ({
      ...places.a,
      keyId,
      bucket: isoAt(minute),
      counters: { ...emptyCounters(), requests, clientErrors: errors, serverErrors: errors },
    })
    await new UsageStore(store.db).add(new Map([['minute', [at(1, 5, 1), at(3, 7, 2), at(9, 100, 0)]]]))
    expect(await alerts.minutes(keyId, Date.parse(isoAt(1)), 4)).toEqual([
      { requests: 5, errors: 2 },
      { requests: 0, errors: 0 },
      { requests: 7, errors: 4 },
      { requests: 0, errors: 0 },
    ])
  })

  it('refuses a second alert with the same id as a unique violation', async () => {
    const event = alertEvent()
    await insert(places.a, event)
    await expectUniqueViolation(insert(places.a, { ...event, rule: 'nearLimit' }))
    expect(await alerts.events(places.a.tenantId, places.a.environment, 100, null)).toContainEqual(event)
  })
}
