// B1 / B6: the cost of authentication.
//  - HTTP: GET /v1/me with a secret key vs GET /healthz on the same server, same run, 50
//    connections, median of 3 alternating runs; target ratio ≥ 0.85 and p99 ≤ 5 ms.
//  - In process: cached secret-key verifications per second (hash and cache lookup; the format
//    and checksum are checked on a cache miss only, since an entry exists only for a key that passed);
//    target ≥ 500,000/s.
// Run: npm run build && taskset -c 1 node bench/auth/run.mjs [--redis]
import { createParley } from '../../packages/server/dist/app.js'
import { loadConfig } from '../../packages/server/dist/config.js'
import { load, median, report } from '../lib/load.mjs'
import { createBenchTenant, startServer } from '../lib/server.mjs'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)

async function http(env = {}) {
  const server = await startServer(env)
  try {
    const tenant = await createBenchTenant(server)
    const key = tenant.keys.live.key
    const health = []
    const me = []
    for (let i = 0; i < RUNS; i++) {
      health.push(await load({ url: `${server.url}/healthz`, seconds: SECONDS }))
      me.push(await load({ url: `${server.url}/v1/me`, headers: { 'x-api-key': key }, seconds: SECONDS }))
    }
    const failures = me.reduce((n, r) => n + r.non2xx, 0)
    const healthRps = median(health.map((r) => r.rps))
    const meRps = median(me.map((r) => r.rps))
    const p99 = median(me.map((r) => r.p99))
    const ratio = meRps / healthRps
    return { healthRps: Math.round(healthRps), meRps: Math.round(meRps), ratio: +ratio.toFixed(3), meP99Ms: p99, failures, targetRatio: 0.85, targetP99Ms: 5, met: ratio >= 0.85 && p99 <= 5 && failures === 0 }
  } finally {
    await server.stop()
  }
}

async function inProcess() {
  const parley = await createParley(loadConfig({ PARLEY_DATABASE_URL: 'sqlite::memory:', PARLEY_ADMIN_KEY: 'x'.repeat(40), PARLEY_LOG_LEVEL: 'silent' }))
  try {
    const { keys } = await parley.services.tenants.create({ name: 'Bench', plan: 'pro' })
    const verifier = parley.services.verifier
    const key = keys.live.key
    await verifier.verify(key) // warm the cache
    const rates = []
    for (let run = 0; run < RUNS; run++) {
      const n = 300_000
      const started = process.hrtime.bigint()
      for (let i = 0; i < n; i++) await verifier.verify(key)
      rates.push(n / (Number(process.hrtime.bigint() - started) / 1e9))
    }
    const rate = median(rates)
    return { verificationsPerSecond: Math.round(rate), target: 500_000, met: rate >= 500_000 }
  } finally {
    await parley.close()
  }
}

const b6 = await inProcess()
report('auth.verify-in-process (B6)', b6)
// The limiter and usage counting are on in both runs: in memory, then shared in Redis.
report('auth.http-me-vs-healthz, memory limiter (B1)', await http())
if (process.argv.includes('--redis')) {
  const redis = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
  report('auth.http-me-vs-healthz, Redis limiter (B1)', await http({ PARLEY_REDIS_URL: redis }))
}
