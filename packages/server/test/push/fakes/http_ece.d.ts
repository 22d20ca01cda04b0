/** The part of http_ece (RFC 8188/8291 reference implementation, a devDependency) the Web Push receiver uses. */
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto'
  export function decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: Buffer | string }): Buffer
  const ece: { decrypt: typeof decrypt }
  export default ece
}
