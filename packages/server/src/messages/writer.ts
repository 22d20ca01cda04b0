/**
 * Group commit for message sends. Sends that arrive while a transaction is being written wait and
 * go together in the next one: one transaction, one UPDATE per conversation and multi-row inserts
 * for the whole group. Under load this turns a commit per message into a commit per batch; a lone
 * send still goes out at once.
 *
 * Seqs stay gap-free and idempotency exact: the senders' membership and earlier uses of their
 * client message ids are read first, then each conversation is locked by the UPDATE that reserves
 * exactly as many seqs as it gets new messages. A duplicate that another node commits in between
 * trips the unique index; the batch then rolls back whole and is written again one send at a time.
 */
import type { ChatScope } from '../conversations/model.js'
import type { ConversationStore } from '../conversations/store.js'
import { ApiError, notFound } from '../core/errors.js'
import { domainEvent } from '../events/outbox.js'
import type { Emit, UnitOfWork } from '../events/unit-of-work.js'
import { newSortableId } from '../core/ids.js'
import type { Kysely } from 'kysely'
import type { Database } from '../storage/schema.js'
import type { Message } from './model.js'
import type { MessageStore } from './store.js'

export interface Draft {
  scope: ChatScope
  conversationId: string
  senderId: string
  /** The answer for this send if the sender turns out not to be a member. */
  notMember: () => ApiError
  text: string
  metadata: Record<string, unknown> | null
  clientMessageId: string | null
}

export interface Sent {
  created: boolean
  message: Message
}

interface Pending {
  draft: Draft
  resolve(result: Sent): void
  reject(error: unknown): void
}

const MAX_BATCH = 256

export class MessageWriter {
  private queue: Pending[] = []
  private writing = false

  constructor(
    private readonly store: MessageStore,
    private readonly conversations: ConversationStore,
    private readonly uow: UnitOfWork,
  ) {}

  write(draft: Draft): Promise<Sent> {
    return new Promise((resolve, reject) => {
      this.queue.push({ draft, resolve, reject })
      if (!this.writing) void this.drain()
    })
  }

  private async drain(): Promise<void> {
    this.writing = true
    while (this.queue.length > 0) {
      // One turn of the event loop first: requests already read from their sockets reach the
      // queue and share this transaction. (Without it, a transaction runs start to end in
      // microtasks on SQLite, and no other request can ever join it.)
      await new Promise((resolve) => setImmediate(resolve))
      let batch: Pending[] = []
      try {
        const results = await this.uow.run((trx, emit) => {
          // Taken only once the transaction holds the connection: every send that queued while we
          // waited for it joins this batch.
          batch = this.queue.splice(0, MAX_BATCH)
          return this.writeBatch(batch.map((p) => p.draft), trx, emit)
        })
        this.settle(batch, results)
      } catch (error) {
        if (batch.length === 1) {
          batch[0]!.reject(error)
          continue
        }
        // One send broke the whole batch (e.g. a duplicate committed by another node meanwhile):
        // write them one by one, so each gets its own answer.
        for (const pending of batch) {
          try {
            this.settle([pending], await this.uow.run((trx, emit) => this.writeBatch([pending.draft], trx, emit)))
          } catch (alone) {
            pending.reject(alone)
          }
        }
      }
    }
    this.writing = false
  }

  private settle(batch: Pending[], results: (Sent | ApiError)[]): void {
    batch.forEach((pending, i) => {
      const result = results[i]!
      if (result instanceof ApiError) pending.reject(result)
      else pending.resolve(result)
    })
  }

  /**
   * One result per draft, in order: a new message, the original of a retry, or an error. The
   * statements do not grow with the number of sends: per tenant environment one query finds which
   * senders are members and one finds earlier sends of the same client message ids; then one
   * UPDATE per conversation locks it and reserves its seqs; then multi-row inserts.
   */
  private async writeBatch(drafts: Draft[], trx: Kysely<Database>, emit: Emit): Promise<(Sent | ApiError)[]> {
    const results: (Sent | ApiError)[] = new Array(drafts.length)
    const createdAt = new Date().toISOString()
    const stored: { scope: ChatScope; messages: Message[] }[] = []
    for (const scoped of groupBy(drafts.keys(), (i) => scopeKey(drafts[i]!.scope)).values()) {
      const scope = drafts[scoped[0]!]!.scope
      const pairs = scoped.map((i): [string, string] => [drafts[i]!.conversationId, drafts[i]!.senderId])
      const isMember = await this.store.membersAmong(scope, unique(pairs), trx)
      const retries = scoped.flatMap((i): [string, string, string][] => {
        const { conversationId, senderId, clientMessageId } = drafts[i]!
        return clientMessageId === null ? [] : [[conversationId, senderId, clientMessageId]]
      })
      const earlier = await this.store.findByClientIds(scope, unique(retries), trx)
      // Within the batch, a later duplicate of a new message is a retry of it.
      const known = new Map(earlier.map((m) => [retryKey(m.conversationId, m.senderId, m.clientMessageId!), m]))
      const messages: Message[] = []
      // Conversations in a fixed order, so concurrent batches on other nodes lock them in the same order.
      for (const [conversationId, group] of [...groupBy(scoped, (i) => drafts[i]!.conversationId)].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const fresh: { index: number; message: Message }[] = []
        for (const i of group) {
          const draft = drafts[i]!
          if (!isMember(conversationId, draft.senderId)) {
            results[i] = draft.notMember() // unless the conversation is gone: see below
            continue
          }
          const key = draft.clientMessageId === null ? null : retryKey(conversationId, draft.senderId, draft.clientMessageId)
          const original = key === null ? undefined : known.get(key)
          if (original) {
            results[i] = { created: false, message: original }
            continue
          }
          const message = newMessage(draft, createdAt)
          if (key !== null) known.set(key, message)
          fresh.push({ index: i, message })
        }
        const gone = () => group.forEach((i) => (results[i] = notFound('Conversation')))
        if (fresh.length === 0) {
          // Refusals and retries only: nothing to lock, but a refusal of a missing conversation is a 404.
          const refused = group.some((i) => results[i] instanceof ApiError)
          if (refused && !(await this.conversations.find(scope, conversationId, trx))) gone()
          continue
        }
        const lastSeq = await this.store.reserveSeqs(scope, conversationId, fresh.length, createdAt, trx)
        if (lastSeq === null) {
          gone()
          continue
        }
        fresh.forEach(({ index, message }, n) => {
          message.seq = lastSeq - fresh.length + 1 + n
          results[index] = { created: true, message }
          messages.push(message)
        })
      }
      if (messages.length > 0) stored.push({ scope, messages })
    }
    for (const { scope, messages } of stored) {
      await this.store.insertMany(scope, messages, trx)
      for (const message of messages) emit(domainEvent('message.created', scope, message.conversationId, { ...message }))
    }
    return results
  }
}

function newMessage(draft: Draft, createdAt: string): Message {
  return {
    id: newSortableId('message'),
    conversationId: draft.conversationId,
    seq: 0, // reserved once the conversation is locked
    senderId: draft.senderId,
    text: draft.text,
    metadata: draft.metadata,
    clientMessageId: draft.clientMessageId,
    createdAt,
    editedAt: null,
    deletedAt: null,
  }
}

const scopeKey = (scope: ChatScope) => `${scope.tenantId}\u0000${scope.environment}`
const retryKey = (conversationId: string, senderId: string, clientMessageId: string) => `${conversationId}\u0000${senderId}\u0000${clientMessageId}`

function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    const list = groups.get(key)
    if (list) list.push(item)
    else groups.set(key, [item])
  }
  return groups
}

/** Distinct tuples, in first-seen order. */
function unique<T extends string[]>(tuples: T[]): T[] {
  const seen = new Map<string, T>()
  for (const tuple of tuples) seen.set(tuple.join('\u0000'), tuple)
  return [...seen.values()]
}
