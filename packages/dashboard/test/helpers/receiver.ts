/**
 * A webhook receiver on the loopback interface: it records every delivery and answers with the
 * status the test sets (500 to make an attempt fail, 200 to let a retry succeed).
 */
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Delivery {
  headers: Record<string, string | string[] | undefined>
  body: any
}

export interface Receiver {
  url: string
  deliveries: Delivery[]
  answerWith(status: number): void
  close(): Promise<void>
}

export async function startReceiver(): Promise<Receiver> {
  const deliveries: Delivery[] = []
  let status = 200
  const server: Server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (text += chunk))
    req.on('end', () => {
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // recorded as text
      }
      deliveries.push({ headers: req.headers, body })
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    deliveries,
    answerWith: (next) => {
      status = next
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
