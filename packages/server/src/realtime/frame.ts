/**
 * WebSocket text frames built once per broadcast. `ws` frames a message for each socket it is sent
 * to: it encodes the string to UTF-8 again, builds a header, and writes the two as a vectored
 * write. A broadcast to ten members did all of that ten times. A prebuilt frame is one buffer,
 * written as it is to each socket (RFC 6455 §5.2: frames from a server are not masked).
 */
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

const FIN_TEXT = 0x81 // FIN bit + opcode 1 (text)

/** One complete, unfragmented, unmasked text frame carrying `payload`. */
export function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload)
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = FIN_TEXT
  if (header === 2) {
    frame[1] = length
  } else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeBigUInt64BE(BigInt(length), 2)
  }
  frame.write(payload, header, 'utf8')
  return frame
}

/**
 * Writes a prebuilt frame to an open socket. With permessage-deflate off (the gateway's setting),
 * `ws` itself writes every frame synchronously to this same TCP socket, so frames written here and
 * by `ws` (pings, close) keep their order, and `bufferedAmount` still counts these bytes.
 */
export function writeFrame(socket: WebSocket, frame: Buffer): void {
  ;(socket as unknown as { _socket: Socket })._socket.write(frame)
}
