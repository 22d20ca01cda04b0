/**
 * The delivery worker's looks at the queue (delivery/worker.ts): with one destination full and a
 * backlog behind it, rows queued for that same destination cost no look past the backlog, while rows
 * for another destination are claimed at once. (A send storm queues its notifications batch by
 * batch for one provider: a look per batch read the whole backlog each time.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { systemClock } from '../../src/delivery/clock.js'
import { DeliveryQueue } from '../../src/delivery/queue.js'
import type { NewDelivery } from '../../src/delivery/rows.js'
import type { Attempt, AttemptOutcome } from '../../src/delivery/handler.js'
import { DeliveryWorker } from '../../src/delivery/worker.js'
import { domainEvent, Outbox } from '../../src/events/outbox.js'
import type { Store } from '../../src/storage/database.js'
import { describeEachEngine } from '../helpers/engines.js'
import { sleep, waitFor } from '../helpers/wait.js'

const PER_DESTINATION = 4

describeEachEngine('DeliveryWorker claims', (_engine, openStore) => {
  let store: Store
  let queue: DeliveryQueue
  let worker: DeliveryWorker
  /** Attempts that never answer until the test ends: their destination stays full. */
  const hanging: Array<(outcome: AttemptOutcome) => void> = []
  const started: string[] = []
  let claims = 0

  beforeAll(async () => {
    store = await openStore()
    queue = new DeliveryQueue(store.db, store.dialect, 'webhook')
    const claim = queue.claim.bind(queue)
    queue.claim = (request) => {
      claims++
      return claim(request)
    }
    worker = new DeliveryWorker(
      queue,
      {
        prepare: async (batch) =>
          new Map<string, Attempt>(
            batch.map((d) => [
              d.id,
              () => {
                started.push(d.destination)
                return new Promise<AttemptOutcome>((resolve) => hanging.push(resolve))
              },
            ]),
          ),
        recorded: async () => {},
      },
      systemClock,
      { schedule: { delaysMs: [1000], jitter: 0, maxRetryAfterMs: 1000 }, concurrency: 16, perDestination: PER_DESTINATION, leaseMs: 60_000, pollMs: 60_000, orderWaitMs: 0, closeGraceMs: 10 },
      { onError: (error) => console.error(error) },
    )
  })
  afterAll(async () => {
    const done = { status: 'succeeded' as const, retry: false, retryAfterMs: null, responseStatus: 200, durationMs: 1, error: null, responseBody: null }
    for (const resolve of hanging) resolve(done)
    await worker.close()
  })

  async function queued(destination: string, count: number): Promise<void> {
    const events = Array.from({ length: count }, () => domainEvent('webhook.test', { tenantId: 'ten_w', environment: 'live' }, null, { webhookId: destination, message: '' }))
    await store.db.transaction().execute((trx) => new Outbox(store.db).append(trx, events))
    const rows = await store.db.selectFrom('events').select(['id', 'position']).where('id', 'in', events.map((e) => e.id)).execute()
    const deliveries: NewDelivery[] = rows.map((row) => ({ destination, eventId: row.id, eventPosition: Number(row.position), eventType: 'webhook.test', orderKey: null }))
    await queue.enqueue(store.db, deliveries, systemClock.now())
  }

  it('looks past a full destination once, then not again for rows queued behind it, and at once for another', async () => {
    await queued('whk_busy', 50)
    worker.start()
    await waitFor(() => started.length === PER_DESTINATION)
    await sleep(100)
    const afterStart = claims
    // More for the full destination, as a burst queues them: no look at the queue.
    for (let i = 0; i < 5; i++) {
      await queued('whk_busy', 10)
      worker.wake(new Set(['whk_busy']))
    }
    await sleep(100)
    expect(claims).toBe(afterStart)
    expect(started.filter((d) => d === 'whk_busy')).toHaveLength(PER_DESTINATION)
    // Rows for another destination: claimed and started.
    await queued('whk_other', 2)
    worker.wake(new Set(['whk_other']))
    await waitFor(() => started.filter((d) => d === 'whk_other').length === 2)
    expect(claims).toBeGreaterThan(afterStart)
  })
})
