/**
 * Group commit for message sends. Sends that arrive while a transaction is being written wait and
 * go together in the next one: one transaction, one seq update per conversation and multi-row
 * inserts for the whole group. Under load this turns a commit per message into a commit per
 * batch; a lone send still goes out at once. Seqs stay gap-free and idempotency exact: each
 * conversation is locked first, then its senders' membership and existing client message ids are
 * checked, then seqs are assigned to the messages that are really new.
 */
import type { ChatScope } from '../conversations/model.js'
import { ApiError, notFound } from '../errors.js'
import { domainEvent } from '../events/outbox.js'
import type { Emit, UnitOfWork } from '../events/unit-of-work.js'
import { newSortableId } from '../ids.js'
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

  /** One result per draft, in order: a new message, the original of a retry, or an error. */
  private async writeBatch(drafts: Draft[], trx: Kysely<Database>, emit: Emit): Promise<(Sent | ApiError)[]> {
    const results: (Sent | ApiError)[] = new Array(drafts.length)
    const createdAt = new Date().toISOString()
    // Conversations in a fixed order, so concurrent batches on other nodes lock them in the same order.
    for (const [, group] of [...groupByConversation(drafts)].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const { scope, conversationId } = drafts[group[0]!]!
      const lastSeq = await this.store.lockForSend(scope, conversationId, trx)
      if (lastSeq === null) {
        for (const i of group) results[i] = notFound('Conversation')
        continue
      }
      const members = await this.store.membersAmong(scope, conversationId, [...new Set(group.map((i) => drafts[i]!.senderId))], trx)
      const indexes = group.filter((i) => {
        if (members.has(drafts[i]!.senderId)) return true
        results[i] = drafts[i]!.notMember()
        return false
      })
      const ids = [...new Set(indexes.map((i) => drafts[i]!.clientMessageId).filter((id): id is string => id !== null))]
      const existing = await this.store.findByClientIds(scope, conversationId, ids, trx)
      const known = new Map(existing.map((m) => [`${m.senderId}\u0000${m.clientMessageId}`, m]))
      const fresh: Message[] = []
      let seq = lastSeq
      for (const i of indexes) {
        const draft = drafts[i]!
        const retryKey = draft.clientMessageId === null ? null : `${draft.senderId}\u0000${draft.clientMessageId}`
        const original = retryKey === null ? undefined : known.get(retryKey)
        if (original) {
          results[i] = { created: false, message: original }
          continue
        }
        const message: Message = {
          id: newSortableId('message'),
          conversationId,
          seq: ++seq,
          senderId: draft.senderId,
          text: draft.text,
          metadata: draft.metadata,
          clientMessageId: draft.clientMessageId,
          createdAt,
          editedAt: null,
          deletedAt: null,
        }
        if (retryKey !== null) known.set(retryKey, message) // a duplicate later in this batch is a retry
        fresh.push(message)
        results[i] = { created: true, message }
      }
      if (fresh.length === 0) continue
      await this.store.setLastSeq(scope, conversationId, seq, createdAt, trx)
      await this.store.insertMany(scope, fresh, trx)
      for (const message of fresh) emit(domainEvent('message.created', scope, conversationId, { ...message }))
    }
    return results
  }
}

function groupByConversation(drafts: Draft[]): Map<string, number[]> {
  const groups = new Map<string, number[]>()
  drafts.forEach((d, i) => {
    const key = `${d.scope.tenantId}\u0000${d.scope.environment}\u0000${d.conversationId}`
    const list = groups.get(key)
    if (list) list.push(i)
    else groups.set(key, [i])
  })
  return groups
}
