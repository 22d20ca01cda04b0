/** Random ids from the platform's CSPRNG (browsers and Node ≥ 20 both have `crypto.getRandomValues`). */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `length` base62 characters, uniform (bytes of 248 and above are drawn again, so no character is favoured). */
export function randomId(length: number): string {
  let id = ''
  while (id.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      if (byte < 248 && id.length < length) id += ALPHABET[byte % 62]
    }
  }
  return id
}
