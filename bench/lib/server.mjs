// Starts a real Parley for a benchmark: the built CLI (`npm run build` first), pinned to CPU 0 when
// taskset exists, on a fresh SQLite file (or PARLEY_DATABASE_URL), logs at warn. BENCH_SERVER_STDOUT=1
// shows the server's stdout (e.g. with --trace-gc); BENCH_NODE_ARGS
// passes flags to the server's node, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = join(root, 'packages', 'server', 'bin', 'parley.js')
export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0

export async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** Starts Parley and resolves when /readyz answers 200. */
export async function startServer(env = {}, nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const adminKey = randomBytes(24).toString('hex')
  const node = [process.execPath, ...nodeArgs, cli, 'start']
  const command = hasTaskset ? ['taskset', ['-c', '0', ...node]] : [node[0], node.slice(1)]
  const child = spawn(command[0], command[1], {
    stdio: ['ignore', process.env.BENCH_SERVER_STDOUT ? 'inherit' : 'ignore', 'inherit'],
    env: {
      ...process.env,
      PARLEY_PORT: String(port),
      PARLEY_HOST: '127.0.0.1',
      PARLEY_PUBLIC_URL: url,
      PARLEY_DATABASE_URL: `sqlite:${join(dir, 'parley.db')}`,
      PARLEY_ADMIN_KEY: adminKey,
      PARLEY_LOG_LEVEL: 'warn',
      // Every simulated client connects from this one machine: the per-address cap would refuse them.
      PARLEY_MAX_CONNECTIONS_PER_IP: '0',
      ...env,
    },
  })
  const started = Date.now()
  for (;;) {
    if (child.exitCode !== null) throw new Error(`parley exited with ${child.exitCode}`)
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 30_000) throw new Error('parley did not become ready')
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url,
    adminKey,
    pid: child.pid,
    readyMs: Date.now() - started,
    async call(method, path, { auth, body } = {}) {
      const res = await fetch(url + path, {
        method,
        headers: { ...(auth && { authorization: `Bearer ${auth}` }), ...(body && { 'content-type': 'application/json' }) },
        body: body && JSON.stringify(body),
      })
      const json = await res.json().catch(() => null)
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`)
      return json
    },
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A tenant for load: the operator raises its per-key rate limit (the tenant-level default) so the
 * benchmark measures the work, not 429s — the limiter still runs on every request.
 */
export async function createBenchTenant(server) {
  const created = await server.call('POST', '/v1/admin/tenants', { auth: server.adminKey, body: { name: 'Bench', plan: 'enterprise' } })
  await server.call('PATCH', `/v1/admin/tenants/${created.tenant.id}`, {
    auth: server.adminKey,
    body: { rateLimit: { limit: 1_000_000, windowSeconds: 1 } },
  })
  return created
}
