/**
 * A real webhook receiver on loopback for tests: records every request (raw body bytes included,
 * as a verifier must see them) and answers as the test says, request by request.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  headers: http.IncomingHttpHeaders
  /** The body exactly as it arrived. */
  raw: Buffer
  body: any
  at: number
}

/** How to answer one request: a status (and headers, body), or 'hang' (never answer). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'hang'

export interface Receiver {
  url: string
  received: Received[]
  /** Requests that have arrived and not been answered yet. */
  open: number
  /** Decides the answer to each request (default 200). */
  answer: (request: Received, index: number) => Answer
  /** Resolves once `count` requests have arrived (or `predicate` holds). */
  waitFor(count: number | (() => boolean), timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export async function startReceiver(answer: Receiver['answer'] = () => ({ status: 200 })): Promise<Receiver> {
  const hanging = new Set<http.ServerResponse>()
  const receiver: Receiver = {
    url: '',
    received: [],
    open: 0,
    answer,
    async waitFor(count, timeoutMs = 10_000) {
      const done = typeof count === 'number' ? () => receiver.received.length >= count : count
      const started = Date.now()
      while (!done()) {
        if (Date.now() - started > timeoutMs) throw new Error(`receiver: waited ${timeoutMs} ms; got ${receiver.received.length} requests`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    close: () =>
      new Promise((resolve) => {
        for (const response of hanging) response.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const raw = Buffer.concat(chunks)
      let body: unknown = null
      try {
        body = JSON.parse(raw.toString('utf8'))
      } catch {
        body = null
      }
      const received: Received = { headers: request.headers, raw, body, at: Date.now() }
      const index = receiver.received.push(received) - 1
      const reply = receiver.answer(received, index)
      receiver.open++
      response.on('close', () => receiver.open--)
      if (reply === 'hang') {
        hanging.add(response)
        return
      }
      const send = () => response.writeHead(reply.status, reply.headers).end(reply.body ?? '')
      if (reply.delayMs) setTimeout(send, reply.delayMs)
      else send()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  return receiver
}

/** A clock tests move by hand (the delivery queue's injectable clock). */
export class ManualClock {
  constructor(private at = Date.now()) {}
  now = (): number => this.at
  advance(ms: number): void {
    this.at += ms
  }
}
