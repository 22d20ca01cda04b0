/** A local webhook receiver (an Express app reading the raw body, as the docs tell users to) recording every delivery. */
import type { AddressInfo } from 'node:net'
import express from 'express'

export interface Delivery {
  body: Buffer
  headers: Record<string, string | string[] | undefined>
}

export interface Receiver {
  url: string
  deliveries: Delivery[]
  close(): Promise<void>
}

export async function startReceiver(status = 204): Promise<Receiver> {
  const deliveries: Delivery[] = []
  const app = express()
  app.post('/hooks', express.raw({ type: '*/*' }), (req, res) => {
    deliveries.push({ body: req.body as Buffer, headers: req.headers })
    res.sendStatus(status)
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    deliveries,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
