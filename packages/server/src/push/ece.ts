/**
 * Web Push message encryption (RFC 8291) in the aes128gcm content coding (RFC 8188), one record.
 *
 * Written here on node:crypto rather than taken from the `web-push` package: this function is all
 * we would use of it, the server keeps its short list of runtime dependencies, and the RFC's own
 * example (Appendix A) pins it byte for byte in the tests. Decryption lives only in the test
 * receiver, which uses an independent implementation (http_ece).
 */
import { createCipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto'

/** Push services must accept 4096 bytes of payload (RFC 8030 §7.2); one record of that size. */
export const RECORD_SIZE = 4096
const TAG_BYTES = 16
const DELIMITER_BYTES = 1

export interface EncryptOptions {
  /** For the RFC's test vector only: a fixed salt and sender key pair (never reuse them). */
  salt?: Buffer
  senderPrivateKey?: Buffer
}

export class BadSubscriptionKeys extends Error {
  constructor(detail: string) {
    super(detail)
    this.name = 'BadSubscriptionKeys'
  }
}

/** The body to POST: header (salt, record size, the sender's public key) and the one encrypted record. */
export function encryptWebPush(plaintext: Buffer, uaPublic: Buffer, authSecret: Buffer, options: EncryptOptions = {}): Buffer {
  if (uaPublic.length !== 65 || uaPublic[0] !== 0x04) throw new BadSubscriptionKeys('p256dh is not an uncompressed P-256 public key')
  if (authSecret.length !== 16) throw new BadSubscriptionKeys('auth is not 16 bytes')
  if (plaintext.length + DELIMITER_BYTES + TAG_BYTES > RECORD_SIZE) throw new RangeError('payload too large for one Web Push record')

  // A fresh key pair and salt for every message (RFC 8291 §3.1).
  const sender = createECDH('prime256v1')
  if (options.senderPrivateKey) sender.setPrivateKey(options.senderPrivateKey)
  else sender.generateKeys()
  const asPublic = sender.getPublicKey()
  let sharedSecret: Buffer
  try {
    sharedSecret = sender.computeSecret(uaPublic)
  } catch {
    throw new BadSubscriptionKeys('p256dh is not a point on P-256')
  }
  const salt = options.salt ?? randomBytes(16)

  // §3.3–3.4: IKM from the ECDH secret and the auth secret; then the RFC 8188 key and nonce.
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic])
  const ikm = Buffer.from(hkdfSync('sha256', sharedSecret, authSecret, keyInfo, 32))
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16))
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12))

  // One record, so it is the last: the plaintext, the delimiter 0x02, no padding.
  const cipher = createCipheriv('aes-128-gcm', cek, nonce)
  const record = Buffer.concat([cipher.update(plaintext), cipher.update(Buffer.from([0x02])), cipher.final(), cipher.getAuthTag()])

  const header = Buffer.alloc(16 + 4 + 1)
  salt.copy(header, 0)
  header.writeUInt32BE(RECORD_SIZE, 16)
  header.writeUInt8(asPublic.length, 20)
  return Buffer.concat([header, asPublic, record])
}
