/**
 * Real WebSocket clients for realtime tests: a client that records every frame, with helpers to
 * wait for a frame matching a predicate, or for the close code.
 */
import WebSocket from 'ws'

export interface TestSocket {
  ws: WebSocket
  frames: any[]
  /** Resolves with the first frame (already received or future) matching `match`. */
  next(match: (frame: any) => boolean, timeoutMs?: number): Promise<any>
  /** Resolves with the close code. */
  closed(timeoutMs?: number): Promise<number>
  send(frame: unknown): void
  close(): void
}

export function openSocket(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/realtime', { headers })
    const frames: any[] = []
    const waiters: { match: (f: any) => boolean; resolve: (f: any) => void }[] = []
    let closeCode: number | null = null
    const closeWaiters: ((code: number) => void)[] = []
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString())
      frames.push(frame)
      for (const w of [...waiters]) {
        if (w.match(frame)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(frame)
        }
      }
    })
    ws.on('close', (code) => {
      closeCode = code
      for (const w of closeWaiters) w(code)
    })
    ws.on('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })))
    ws.on('error', (error) => reject(error))
    ws.on('open', () =>
      resolve({
        ws,
        frames,
        next: (match, timeoutMs = 3000) => {
          const found = frames.find(match)
          if (found) return Promise.resolve(found)
          return new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`)), timeoutMs)
            waiters.push({ match, resolve: (f) => (clearTimeout(timer), res(f)) })
          })
        },
        closed: (timeoutMs = 3000) =>
          closeCode !== null
            ? Promise.resolve(closeCode)
            : new Promise((res, rej) => {
                const timer = setTimeout(() => rej(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs)
                closeWaiters.push((code) => (clearTimeout(timer), res(code)))
              }),
        send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        close: () => ws.close(),
      }),
    )
  })
}
