// The socket side of bench/fanout, in its own process: opens one authenticated WebSocket per
// token, counts deliveries, and measures POST-to-receipt latency from the timestamp each message
// carries. Driven over IPC by run.mjs.
import WebSocket from 'ws'

const sockets = []
let deliveries = 0
let latencies = []

async function open(url, tokens) {
  const wsUrl = url.replace(/^http/, 'ws') + '/v1/realtime'
  let next = 0
  async function worker() {
    while (next < tokens.length) {
      const token = tokens[next++]
      await new Promise((resolve, reject) => {
        const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false })
        ws.on('message', (data) => {
          const text = data.toString()
          if (text.startsWith('{"type":"ready"')) return resolve()
          if (!text.startsWith('{"type":"event","event":"message.created"')) return
          deliveries++
          const sentAt = Number(/"text":"t=(\d+)/.exec(text)?.[1])
          if (sentAt) latencies.push(Date.now() - sentAt)
        })
        ws.on('error', reject)
        sockets.push(ws)
      })
    }
  }
  await Promise.all(Array.from({ length: 100 }, worker))
}

process.on('message', async (command) => {
  if (command.type === 'open') {
    await open(command.url, command.tokens)
    process.send({ type: 'opened', count: sockets.length })
  } else if (command.type === 'reset') {
    deliveries = 0
    latencies = []
    process.send({ type: 'reset' })
  } else if (command.type === 'report') {
    latencies.sort((a, b) => a - b)
    const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? null
    process.send({ type: 'report', deliveries, p50: at(0.5), p99: at(0.99) })
  } else if (command.type === 'close') {
    for (const ws of sockets) ws.terminate()
    process.exit(0)
  }
})
