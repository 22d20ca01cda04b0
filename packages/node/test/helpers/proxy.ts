/**
 * A real HTTP proxy in front of a real Parley that can fail the next requests on purpose (a 5xx
 * problem+json, or no answer at all) and records every request with the status it got.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Proxy {
  url: string
  /** "METHOD /path status" of every request, in order. */
  seen: string[]
  /** The next `count` requests get `status` without reaching Parley. */
  failNext(count: number, status?: number): void
  /** Every request from now on hangs (never answered) until `close`. */
  hang(): void
  close(): Promise<void>
}

export async function startProxy(target: string): Promise<Proxy> {
  const seen: string[] = []
  let failures: { count: number; status: number } = { count: 0, status: 503 }
  let hanging = false
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const line = `${req.method} ${req.url}`
    if (hanging) return void seen.push(`${line} -`)
    if (failures.count > 0) {
      failures.count--
      seen.push(`${line} ${failures.status}`)
      const body = { type: 'about:blank', title: 'Unavailable', status: failures.status, detail: 'Injected by the test proxy', code: 'unavailable', requestId: 'req_proxy' }
      return void res.writeHead(failures.status, { 'content-type': 'application/problem+json' }).end(JSON.stringify(body))
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<string, string>
    const answer = await fetch(target + req.url, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined })
    seen.push(`${line} ${answer.status}`)
    const outgoing = Object.fromEntries([...answer.headers].filter(([name]) => name !== 'content-length' && name !== 'content-encoding' && name !== 'transfer-encoding'))
    res.writeHead(answer.status, outgoing).end(Buffer.from(await answer.arrayBuffer()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    failNext: (count, status = 503) => void (failures = { count, status }),
    hang: () => void (hanging = true),
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
