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

/**
 * A Parley process on a fixed port and data directory, so that it can be stopped (with any signal)
 * and started again where its clients expect it. `start` resolves when /readyz answers 200.
 */
export function parleyProcess({ port, dir, adminKey, env = {}, nodeArgs = [] }) {
  const url = `http://127.0.0.1:${port}`
  let child = null
  const start = async () => {
    const node = [process.execPath, ...nodeArgs, cli, 'start']
    const [command, args] = hasTaskset ? ['taskset', ['-c', '0', ...node]] : [node[0], node.slice(1)]
    child = spawn(command, args, {
      stdio: ['ignore', process.env.BENCH_SERVER_STDOUT ? 'inherit' : 'ignore', 'inherit'],
      env: {
        ...process.env,
        PARLEY_PORT: String(port),
        PARLEY_HOST: '127.0.0.1',
        PARLEY_PUBLIC_URL: url,
        PARLEY_DATABASE_URL: `sqlite:${join(dir, 'parley.db')}`,
        PARLEY_ADMIN_KEY: adminKey,
        PARLEY_LOG_LEVEL: 'warn',
        ...env,
      },
    })
    const started = Date.now()
    for (;;) {
      if (child.exitCode !== null) throw new Error(`parley exited with ${child.exitCode}`)
      if (await fetch(`${url}/readyz`).then((res) => res.status === 200, () => false)) return Date.now() - started
      if (Date.now() - started > 30_000) throw new Error('parley did not become ready')
      await new Promise((r) => setTimeout(r, 10))
    }
  }
  const stop = async (signal = 'SIGTERM') => {
    const exited = new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)))
    child.kill(signal)
    await exited
  }
  const call = async (method, path, { auth, body } = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: { ...(auth && { authorization: `Bearer ${auth}` }), ...(body && { 'content-type': 'application/json' }) },
      body: body && JSON.stringify(body),
    })
    const json = await res.json().catch(() => null)
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`)
    return json
  }
  return { url, adminKey, start, stop, call, get pid() { return child?.pid } }
}

/** Starts Parley on a free port and a fresh data directory; resolves when /readyz answers 200. */
export async function startServer(env = {}, nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'))
  // Every simulated client connects from this one machine: the per-address cap would refuse them.
  const server = parleyProcess({ port: await freePort(), dir, adminKey: randomBytes(24).toString('hex'), env: { PARLEY_MAX_CONNECTIONS_PER_IP: '0', ...env }, nodeArgs })
  const readyMs = await server.start()
  return {
    url: server.url,
    adminKey: server.adminKey,
    pid: server.pid,
    readyMs,
    call: server.call,
    async stop() {
      await server.stop('SIGTERM')
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
