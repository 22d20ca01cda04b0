/**
 * Parley as users run it: the `parley start` command in its own process (from the build in
 * dist/, which `npm test` refreshes first), configured only through PARLEY_* variables.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'
import { join } from 'node:path'
import { sleep } from './wait.js'

const CLI = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'parley.js')

export interface ParleyProcess {
  url: string
  output: string[]
  stop(): Promise<void>
  /** SIGKILL: a crash, with no chance to finish or flush anything. */
  kill(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** `port` restarts a Parley where its clients expect it (default: a free port). */
export async function startProcess(env: Record<string, string>, { port = 0 }: { port?: number } = {}): Promise<ParleyProcess> {
  port ||= await freePort()
  const url = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(process.execPath, [CLI, 'start'], {
    env: { ...process.env, PARLEY_PORT: String(port), PARLEY_HOST: '127.0.0.1', PARLEY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  child.stdout?.on('data', (chunk) => output.push(String(chunk)))
  child.stderr?.on('data', (chunk) => output.push(String(chunk)))
  const started = Date.now()
  for (;;) {
    if (child.exitCode !== null) throw new Error(`parley exited with ${child.exitCode}: ${output.join('')}`)
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 30_000) throw new Error(`parley not ready after 30 s: ${output.join('')}`)
    await sleep(50)
  }
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(name)
    await exited
  }
  return { url, output, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') }
}

/** Runs one `parley` command to its end (it must exit by itself within 30 s). */
export async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, PARLEY_HOST: '127.0.0.1', PARLEY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += String(chunk)))
  child.stderr.on('data', (chunk) => (stderr += String(chunk)))
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr }
}
