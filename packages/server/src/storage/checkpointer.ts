/**
 * Moves SQLite's WAL checkpoints off the event loop.
 *
 * better-sqlite3 is synchronous, so whatever a commit does, every request waits for. By default
 * the commit that grows the WAL past 1,000 pages also copies those pages into the database file
 * and fsyncs both files: on a virtual disk that is tens of milliseconds, every few hundred sends.
 * Instead, a worker thread with its own connection runs a PASSIVE checkpoint (it never blocks
 * writers or readers) several times a second, so the fsyncs happen beside the event loop. The main
 * connection keeps an automatic checkpoint at a higher mark as a backstop: if the worker falls
 * behind (or is gone), the WAL still cannot grow past about 40 MB, and since the worker has copied
 * most pages already, that checkpoint has little left to do. Durability is unchanged:
 * synchronous=NORMAL in WAL mode syncs at checkpoints, wherever they run.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** Pages (4 KiB) after which the main connection checkpoints by itself. */
export const BACKSTOP_PAGES = 10_000
const INTERVAL_MS = 100

// Runs in the worker. Inline (not a file of its own) so it runs the same from src/ under the test
// runner and from dist/; CommonJS, so it requires the driver by the path the main thread resolved.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads')
const SQLite = require(workerData.driver)
const db = new SQLite(workerData.path, { fileMustExist: true })
db.pragma('busy_timeout = 0')
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)') } catch (error) { if (error.code !== 'SQLITE_BUSY') throw error }
}, workerData.intervalMs)
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close() })
`

export interface Checkpointer {
  stop(): Promise<void>
}

/** Starts checkpointing `path` (a WAL-mode SQLite file already opened by this process). */
export function startCheckpointer(path: string, onError: (error: unknown) => void): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3')
  let worker: Worker
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, intervalMs: INTERVAL_MS } })
  } catch (error) {
    onError(error) // e.g. no threads left: the backstop still bounds the WAL
    return { stop: async () => {} }
  }
  worker.unref() // never what keeps the process alive
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  // The backstop still bounds the WAL without the worker; report and carry on.
  worker.on('error', onError)
  return {
    async stop() {
      // Held until it exits: with nothing else left (a start that failed), an unref'd worker would let
      // the process end mid-close, silently and with exit code 0.
      worker.ref()
      worker.postMessage('stop')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1000).unref())])
      await worker.terminate()
    },
  }
}
