/** The `parley` command as users run it: the built bin of @parley/server in its own process (needs `npm run build`). */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { join } from 'node:path'

const BIN = join(import.meta.dirname, '..', '..', '..', 'server', 'bin', 'parley.js')

export interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs `parley …args` to its end, with only the given PARLEY_* variables (plus an isolated config home). */
export function parley(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: isolated(env) }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    })
  })
}

export interface Running {
  child: ChildProcess
  stdout: string[]
  stderr: string[]
  /** SIGINT (Ctrl-C) and the exit code. */
  stop(): Promise<number | null>
}

/** Starts a long-running `parley …args` (tail, listen). */
export function spawnParley(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [BIN, ...args], { env: isolated(env), stdio: ['ignore', 'pipe', 'pipe'] })
  const stdout: string[] = []
  const stderr: string[] = []
  child.stdout!.on('data', (chunk) => stdout.push(...String(chunk).split('\n').filter(Boolean)))
  child.stderr!.on('data', (chunk) => stderr.push(...String(chunk).split('\n').filter(Boolean)))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    stdout,
    stderr,
    stop: () => {
      child.kill('SIGINT')
      return exited
    },
  }
}

function isolated(env: Record<string, string>): NodeJS.ProcessEnv {
  const { PARLEY_API_KEY: _key, PARLEY_API_URL: _url, ...inherited } = process.env
  return { ...inherited, ...env }
}
