// The cost of rate limiting, which runs on every authenticated request.
//  - Memory limiter, in process: awaited consume() calls per second on one hot bucket, round-robin
//    over 10,000 buckets, and on a bucket that is already over its limit; target ≥ 1,000,000/s each.
//  - Redis limiter (only when PARLEY_BENCH_REDIS_URL is set): consume() calls per second with 64
//    in flight on one connection; reported, no target (it is bounded by the Redis round trip).
//    Its keys expire with their 60 s window.
// Run: npm run build && taskset -c 1 node bench/limiter/run.mjs
import { randomBytes } from 'node:crypto'
import { MemoryLimiter } from '../../packages/server/dist/limits/limiter-memory.js'
import { RedisLimiter } from '../../packages/server/dist/limits/limiter-redis.js'
import { median, report } from '../lib/load.mjs'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const CALLS = Number(process.env.BENCH_CALLS ?? 2_000_000)
const TARGET = 1_000_000

async function rate(calls, body) {
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) await body(i)
  return calls / (Number(process.hrtime.bigint() - started) / 1e9)
}

async function memory() {
  const limiter = new MemoryLimiter()
  const buckets = Array.from({ length: 10_000 }, (_, i) => `key:key_${i.toString(36).padStart(8, '0')}`)
  const scenarios = {
    hotBucket: () => limiter.consume('key:hot', Number.MAX_SAFE_INTEGER, 60),
    manyBuckets: (i) => limiter.consume(buckets[i % buckets.length], Number.MAX_SAFE_INTEGER, 60),
    denied: () => limiter.consume('key:denied', 0, 60),
  }
  const figures = {}
  for (const [name, body] of Object.entries(scenarios)) {
    await rate(100_000, body) // warm up
    const rates = []
    for (let run = 0; run < RUNS; run++) rates.push(await rate(CALLS, body))
    figures[`${name}PerSecond`] = Math.round(median(rates))
  }
  await limiter.close()
  const slowest = Math.min(...Object.values(figures))
  return { ...figures, target: TARGET, met: slowest >= TARGET }
}

async function redis(url) {
  const limiter = new RedisLimiter(url, { prefix: `parley-bench-rl-${randomBytes(4).toString('hex')}:` })
  const inFlight = 64
  const calls = 50_000
  const rates = []
  for (let run = 0; run < RUNS; run++) {
    let next = 0
    const started = process.hrtime.bigint()
    const worker = async () => {
      while (next < calls) await limiter.consume(`key:${next++ % 1000}`, Number.MAX_SAFE_INTEGER, 60)
    }
    await Promise.all(Array.from({ length: inFlight }, worker))
    rates.push(calls / (Number(process.hrtime.bigint() - started) / 1e9))
  }
  await limiter.close()
  return { consumePerSecond: Math.round(median(rates)), inFlight }
}

report('limiter.memory-in-process', await memory())
if (process.env.PARLEY_BENCH_REDIS_URL) report('limiter.redis', await redis(process.env.PARLEY_BENCH_REDIS_URL))
