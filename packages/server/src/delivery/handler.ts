/**
 * What a consumer of the delivery queue (webhooks, push) gives the worker (worker.ts): the attempt
 * of each claimed delivery, and what to write with its outcome.
 */
import type { Kysely } from 'kysely'
import type { Database } from '../storage/schema.js'
import type { AttemptRecord, Delivery } from './rows.js'

/** What an attempt came to, as the consumer judges the answer it got. */
export interface AttemptOutcome extends AttemptRecord {
  /** For a failure: whether to try again (as the schedule allows). */
  retry: boolean
  /** The receiver's Retry-After, in ms. */
  retryAfterMs: number | null
}

/** Makes one attempt; the signal fires when the node stops before it finished. */
export type Attempt = (signal: AbortSignal) => Promise<AttemptOutcome>

export interface DeliveryHandler {
  /** One attempt per delivery of a claimed batch (what they need is loaded for the batch at once). */
  prepare(batch: readonly Delivery[]): Promise<Map<string, Attempt>>
  /**
   * Runs in the transaction that records an outcome: the consumer's own state (a destination
   * disabled, say). `final`: no retry follows.
   */
  recorded(trx: Kysely<Database>, delivery: Delivery, outcome: AttemptOutcome, final: boolean, now: number): Promise<void>
  /** Instead of `recorded` once per outcome: all the outcomes of one transaction at once (fewer statements). */
  recordedAll?(trx: Kysely<Database>, outcomes: readonly RecordedOutcome[], now: number): Promise<void>
}

/** An outcome written, for DeliveryHandler.recordedAll. */
export interface RecordedOutcome {
  delivery: Delivery
  outcome: AttemptOutcome
  final: boolean
}
