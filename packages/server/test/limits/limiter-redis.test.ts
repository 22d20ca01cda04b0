/**
 * What only the Redis limiter has: keys, TTLs, the script cache and an unreachable or silent
 * server. The shared behaviour is in limiter-conformance.test.ts.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { LimiterUnavailableError } from '../../src/limits/limiter.js'
import { RedisLimiter } from '../../src/limits/limiter-redis.js'
import { redisUrl } from '../helpers/databases.js'
import { uniqueSuffix } from '../helpers/values.js'

const limiters: RedisLimiter[] = []

function limiter(...args: ConstructorParameters<typeof RedisLimiter>): RedisLimiter {
  const created = new RedisLimiter(...args)
  limiters.push(created)
  return created
}

afterEach(async () => {
  await Promise.all(limiters.splice(0).map((created) => created.close()))
})

// Needs a live Redis (PARLEY_TEST_REDIS_URL); CI requires it, so there it never skips.
describe.skipIf(!redisUrl)('Redis limiter against a live Redis', () => {
  const admin = new Redis(redisUrl!)
  const written: string[] = []
  afterAll(async () => {
    if (written.length > 0) await admin.del(...written)
    await admin.quit()
  })

  it('keeps a bucket in one prefixed key that expires when its window ends', async () => {
    const prefix = `parley-test-rl-${uniqueSuffix()}:`
    const key = `${prefix}key:abc`
    written.push(key)
    await limiter(redisUrl!, { prefix }).consume('key:abc', 5, 60)
    const ttl = await admin.pttl(key)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it("uses 'parley:rl:' as the default prefix", async () => {
    const bucket = `test-${uniqueSuffix()}`
    written.push(`parley:rl:${bucket}`)
    await limiter(admin).consume(bucket, 5, 60)
    expect(await admin.exists(`parley:rl:${bucket}`)).toBe(1)
  })

  it('falls back to EVAL when Redis has forgotten the script', async () => {
    const prefix = `parley-test-rl-${uniqueSuffix()}:`
    written.push(`${prefix}b`)
    const subject = limiter(redisUrl!, { prefix })
    await subject.consume('b', 5, 60)
    await admin.script('FLUSH')
    expect(await subject.consume('b', 5, 60)).toMatchObject({ allowed: true, remaining: 3 })
  })

  it('leaves a client it was given open on close()', async () => {
    const client = new Redis(redisUrl!)
    await new RedisLimiter(client, { prefix: `parley-test-rl-${uniqueSuffix()}:` }).close()
    expect(await client.ping()).toBe('PONG')
    await client.quit()
  })
})

describe('Redis limiter when Redis does not answer', () => {
  // Port 1 refuses connections on any normal host.
  const refused = 'redis://127.0.0.1:1'

  it('rejects with a 503 LimiterUnavailableError that keeps the cause', async () => {
    const started = Date.now()
    const error = await limiter(refused).consume('b', 5, 60).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LimiterUnavailableError)
    expect(error).toMatchObject({ code: 'unavailable', status: 503, headers: { 'retry-after': '1' } })
    expect((error as Error).cause).toBeInstanceOf(Error)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('with failOpen, allows the request and reports the failure', async () => {
    const errors: string[] = []
    const subject = limiter(refused, { failOpen: true, onError: (_, context) => errors.push(context) })
    expect(await subject.consume('b', 5, 60)).toMatchObject({ allowed: true, remaining: 4, retryAfterSeconds: 0 })
    expect(await subject.consume('b', 5, 60, 6)).toMatchObject({ allowed: false })
    expect(errors.some((context) => context.includes('failing open'))).toBe(true)
  })

  describe('a server that accepts connections but never replies', () => {
    const sockets = new Set<Socket>()
    const silent: Server = createServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    afterAll(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    })

    it('gives up after timeoutMs', async () => {
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
      const { port } = silent.address() as { port: number }
      const started = Date.now()
      const subject = limiter(`redis://127.0.0.1:${port}`, { timeoutMs: 200 })
      await expect(subject.consume('b', 5, 60)).rejects.toBeInstanceOf(LimiterUnavailableError)
      expect(Date.now() - started).toBeLessThan(1_500)
    })
  })
})
