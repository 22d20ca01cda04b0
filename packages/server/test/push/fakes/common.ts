/**
 * What the push provider fakes share: how a test says what to answer (a queue of next answers,
 * then a rule per device, then a default), waiting for requests, and reading a request body.
 */
import type { Readable } from 'node:stream'
import { waitFor } from '../../helpers/wait.js'

/** How the fakes decide answers: `next` first (one each, in order), then `byDevice`, then `otherwise`. */
export class Answers<A> {
  /** Answers for the next requests, whatever their device (shifted one per request). */
  readonly next: A[] = []
  /** The answer for every request to one device (APNs/FCM token, Web Push subscription id). */
  readonly byDevice = new Map<string, A>()

  constructor(public otherwise: A) {}

  for(device: string): A {
    return this.next.shift() ?? this.byDevice.get(device) ?? this.otherwise
  }
}

export async function readBody(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export function parseJson(raw: Buffer): any {
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch {
    return null
  }
}

/** Resolves once `list` holds `count` entries. */
export function waitForCount(list: readonly unknown[], count: number, timeoutMs: number, what: string): Promise<void> {
  return waitFor(() => list.length >= count, timeoutMs, `${what}: ${count} requests`)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
