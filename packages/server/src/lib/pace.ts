/**
 * Background work that gives way to the node's foreground work: each piece waits for its `turn`
 * and then says how long it ran (`spent`). push/pacer.ts decides what a turn is; the outbox
 * reader and the delivery worker only ask.
 */
import { performance } from 'node:perf_hooks'

export interface Pace {
  /** Resolves when the next piece of work may start (at once when the node is not busy), or when `signal` fires. */
  turn(signal?: AbortSignal): Promise<void>
  /** A piece of work took this long (ms). */
  spent(ms: number): void
}

/**
 * Runs `work` in its turn and counts its time. The time is the piece's wall time: on SQLite its
 * statements run on the event loop, so that is its cost; a database across the network makes it
 * count its waits too, which paces it more tightly than it needs, never less.
 */
export async function paced<T>(pace: Pace | undefined, work: () => Promise<T>): Promise<T> {
  if (!pace) return work()
  await pace.turn()
  const started = performance.now()
  try {
    return await work()
  } finally {
    pace.spent(performance.now() - started)
  }
}
