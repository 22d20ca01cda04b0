/**
 * One suite for every Limiter implementation: the memory limiter, and the Redis limiter against
 * PARLEY_TEST_REDIS_URL under a key prefix unique to this run (deleted afterwards).
 *
 * Every test uses its own bucket names, so tests never see each other's counts. Tests that
 * expect one window use an hour-long one and avoid its last seconds, so a window boundary
 * cannot fall in the middle of a test and let a few extra calls through.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LimitDecision, Limiter } from '../../src/limits/limiter.js'
import { MemoryLimiter } from '../../src/limits/limiter-memory.js'
import { RedisLimiter } from '../../src/limits/limiter-redis.js'
import { redisUrl } from '../helpers/databases.js'
import { uniqueSuffix } from '../helpers/values.js'
import { sleep } from '../helpers/wait.js'

interface Subject {
  /** The limiter most tests use. */
  limiter: Limiter
  /** A second limiter sharing the first one's counts (another node), where the store is shared. */
  peer: Limiter | null
  /** A limiter of its own, for tests that close it. */
  standalone(): Limiter
  close(): Promise<void>
}

interface Implementation {
  name: string
  skip: boolean
  open(): Subject
}

const HOUR = 3600

const memory: Implementation = {
  name: 'memory',
  skip: false,
  open() {
    const limiter = new MemoryLimiter()
    return { limiter, peer: null, standalone: () => new MemoryLimiter(), close: () => limiter.close() }
  },
}

const redis: Implementation = {
  name: 'redis',
  skip: !redisUrl, // needs a live Redis; with PARLEY_TEST_REQUIRE_SERVICES=1 (CI) helpers/databases.ts fails the run instead
  open() {
    const url = redisUrl!
    const prefix = `parley-test-rl-${uniqueSuffix()}:`
    // Two separate connections stand for two nodes; the peer is built from a client we pass in.
    const peerClient = new Redis(url)
    const limiter = new RedisLimiter(url, { prefix })
    const peer = new RedisLimiter(peerClient, { prefix })
    return {
      limiter,
      peer,
      standalone: () => new RedisLimiter(url, { prefix }),
      close: async () => {
        await deleteKeys(peerClient, prefix)
        await Promise.all([limiter.close(), peer.close()])
        await peerClient.quit()
      },
    }
  },
}

async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

/** Waits out the last `marginMs` of the current window, so what follows runs inside one window. */
async function awayFromBoundary(windowSeconds: number, marginMs = 2_000): Promise<void> {
  const windowMs = windowSeconds * 1000
  const left = windowMs - (Date.now() % windowMs)
  if (left < marginMs) await sleep(left + 20)
}

function fire(limiters: Limiter[], calls: number, bucket: string, limit: number): Promise<LimitDecision[]> {
  return Promise.all(Array.from({ length: calls }, (_, i) => limiters[i % limiters.length]!.consume(bucket, limit, HOUR)))
}

/** Exactly `limit` allowed, each remaining value handed out once, every denial well-formed. */
function expectExactly(decisions: LimitDecision[], limit: number): void {
  const allowed = decisions.filter((d) => d.allowed)
  const denied = decisions.filter((d) => !d.allowed)
  expect(allowed).toHaveLength(limit)
  expect(allowed.map((d) => d.remaining).sort((a, b) => a - b)).toEqual(Array.from({ length: limit }, (_, i) => i))
  for (const d of denied) expect(d).toMatchObject({ remaining: 0, limit })
  for (const d of denied) expect(d.retryAfterSeconds).toBeGreaterThanOrEqual(1)
}

for (const impl of [memory, redis]) {
  // Redis runs when PARLEY_TEST_REDIS_URL is set; CI requires it (helpers/databases.ts fails without).
  describe.skipIf(impl.skip)(`Limiter conformance: ${impl.name}`, () => {
    let subject: Subject
    let limiter: Limiter
    beforeAll(() => {
      subject = impl.open()
      limiter = subject.limiter
    })
    afterAll(async () => {
      await subject?.close()
    })

    for (const n of [50, 200]) {
      it(`allows exactly ${n} of ${2 * n} concurrent calls`, async () => {
        await awayFromBoundary(HOUR)
        expectExactly(await fire([limiter], 2 * n, `race-${uniqueSuffix()}`, n), n)
      })

      it(`allows exactly ${n} of ${2 * n} concurrent calls split across two nodes`, async (context) => {
        if (!subject.peer) return context.skip('this implementation keeps its counts in one process')
        await awayFromBoundary(HOUR)
        expectExactly(await fire([limiter, subject.peer], 2 * n, `race-${uniqueSuffix()}`, n), n)
      })
    }

    it('counts remaining down by one per call, then denies without going negative', async () => {
      await awayFromBoundary(HOUR)
      const bucket = `seq-${uniqueSuffix()}`
      const decisions: LimitDecision[] = []
      for (let i = 0; i < 7; i++) decisions.push(await limiter.consume(bucket, 5, HOUR))
      expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
        [true, 4], [true, 3], [true, 2], [true, 1], [true, 0], [false, 0], [false, 0],
      ])
      for (const d of decisions) {
        expect(d.limit).toBe(5)
        expect(d.resetSeconds).toBeGreaterThanOrEqual(1)
        expect(d.resetSeconds).toBeLessThanOrEqual(HOUR)
        expect(d.retryAfterSeconds).toBe(d.allowed ? 0 : d.resetSeconds)
      }
    })

    it('reports a Retry-After of at least 1 s on denial, even at the very end of a window', async () => {
      // A 1-second window makes "less than a second left" the common case.
      const bucket = `retry-${uniqueSuffix()}`
      for (let i = 0; i < 20; i++) {
        const d = await limiter.consume(bucket, 0, 1)
        expect(d.allowed).toBe(false)
        expect(d.retryAfterSeconds).toBe(1)
        expect(d.resetSeconds).toBe(1)
      }
    })

    it('starts counting afresh in the next window', async () => {
      // Start just after a second boundary, so the first three calls share one 1-second window.
      await sleep(1000 - (Date.now() % 1000) + 20)
      const bucket = `window-${uniqueSuffix()}`
      expect((await limiter.consume(bucket, 2, 1)).allowed).toBe(true)
      expect((await limiter.consume(bucket, 2, 1)).allowed).toBe(true)
      expect((await limiter.consume(bucket, 2, 1)).allowed).toBe(false)
      // Whatever the clocks, a 1-second window has ended 1 s after any moment inside it.
      await sleep(1_050)
      expect(await limiter.consume(bucket, 2, 1)).toMatchObject({ allowed: true, remaining: 1, retryAfterSeconds: 0 })
    })

    it('keeps buckets independent', async () => {
      await awayFromBoundary(HOUR)
      const [a, b] = [`a-${uniqueSuffix()}`, `b-${uniqueSuffix()}`]
      await fire([limiter], 3, a, 3)
      expect((await limiter.consume(a, 3, HOUR)).allowed).toBe(false)
      expect(await limiter.consume(b, 3, HOUR)).toMatchObject({ allowed: true, remaining: 2 })
    })

    it('takes `cost` units at once, and a denied call takes none', async () => {
      await awayFromBoundary(HOUR)
      const bucket = `cost-${uniqueSuffix()}`
      expect(await limiter.consume(bucket, 10, HOUR, 4)).toMatchObject({ allowed: true, remaining: 6 })
      expect(await limiter.consume(bucket, 10, HOUR, 4)).toMatchObject({ allowed: true, remaining: 2 })
      expect(await limiter.consume(bucket, 10, HOUR, 4)).toMatchObject({ allowed: false, remaining: 2 })
      expect(await limiter.consume(bucket, 10, HOUR, 2)).toMatchObject({ allowed: true, remaining: 0 })
      expect(await limiter.consume(bucket, 10, HOUR)).toMatchObject({ allowed: false, remaining: 0 })
    })

    it('always denies a cost above the limit, and everything under a limit of 0', async () => {
      await awayFromBoundary(HOUR)
      expect(await limiter.consume(`big-${uniqueSuffix()}`, 3, HOUR, 4)).toMatchObject({ allowed: false, remaining: 3 })
      expect(await limiter.consume(`zero-${uniqueSuffix()}`, 0, HOUR)).toMatchObject({ allowed: false, remaining: 0 })
    })

    it('counts exactly with limits and costs far beyond any real traffic', async () => {
      await awayFromBoundary(HOUR)
      const bucket = `huge-${uniqueSuffix()}`
      const limit = Number.MAX_SAFE_INTEGER
      const cost = 2 ** 50 + 1
      await limiter.consume(bucket, limit, HOUR, cost)
      expect(await limiter.consume(bucket, limit, HOUR, cost)).toMatchObject({ allowed: true, remaining: limit - 2 * cost })
    })

    it('applies a lowered limit to units already used, and restarts on a new window length', async () => {
      await awayFromBoundary(HOUR)
      const bucket = `change-${uniqueSuffix()}`
      await fire([limiter], 5, bucket, 10)
      expect(await limiter.consume(bucket, 3, HOUR)).toMatchObject({ allowed: false, remaining: 0, limit: 3 })
      expect(await limiter.consume(bucket, 10, HOUR)).toMatchObject({ allowed: true, remaining: 4 })
      // A key's own rateLimit replaces limit and window together: the new window starts empty.
      expect(await limiter.consume(bucket, 10, 2 * HOUR)).toMatchObject({ allowed: true, remaining: 9 })
    })

    it('rejects invalid arguments with a RangeError', async () => {
      const bad: [string, number, number, number?][] = [
        ['', 1, 1],
        ['x', -1, 1],
        ['x', 1.5, 1],
        ['x', 1, 0],
        ['x', 1, 0.5],
        ['x', 1, 1, 0],
        ['x', 1, 1, Number.NaN],
      ]
      for (const args of bad) await expect(limiter.consume(...args)).rejects.toBeInstanceOf(RangeError)
    })

    it('rejects consume() after close()', async () => {
      const own = subject.standalone()
      await own.consume(`closing-${uniqueSuffix()}`, 1, HOUR)
      await own.close()
      await expect(own.consume(`closing-${uniqueSuffix()}`, 1, HOUR)).rejects.toThrow(/closed/)
    })
  })
}
