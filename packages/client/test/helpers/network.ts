/**
 * A TCP relay between a client and a real Parley, standing in for the network: it can cut every
 * open connection (what a client sees when Wi-Fi drops: close 1006), refuse new ones (offline),
 * or keep forwarding the client's bytes while swallowing Parley's answers (a reply lost on the way).
 */
import net from 'node:net'

export interface Network {
  /** The URL to give the client instead of Parley's. */
  url: string
  /** Destroys every open connection. */
  cut(): void
  /** While true, new connections are dropped at once. */
  offline(on: boolean): void
  /** While true, Parley's bytes to the client are dropped (the client's still reach Parley). */
  loseReplies(on: boolean): void
  close(): Promise<void>
}

export async function networkTo(parleyUrl: string): Promise<Network> {
  const target = new URL(parleyUrl)
  const open = new Set<net.Socket>()
  let isOffline = false
  let losingReplies = false
  const server = net.createServer((client) => {
    if (isOffline) return void client.destroy()
    const upstream = net.connect(Number(target.port), target.hostname)
    for (const socket of [client, upstream]) {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
      socket.on('error', () => {})
    }
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => losingReplies || client.write(chunk))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  const cut = () => {
    for (const socket of open) socket.destroy()
  }
  return {
    url: `http://127.0.0.1:${port}`,
    cut,
    offline: (on) => {
      isOffline = on
      if (on) cut()
    },
    loseReplies: (on) => {
      losingReplies = on
    },
    close: async () => {
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
