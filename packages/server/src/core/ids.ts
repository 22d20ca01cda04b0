import { randomFillSync } from 'node:crypto'

/** Every server-generated id prefix, in one place (API.md §0.5). */
export const ID_PREFIX = {
  tenant: 'ten_',
  key: 'key_',
  conversation: 'conv_',
  message: 'msg_',
  webhook: 'whk_',
  event: 'evt_',
  delivery: 'dlv_',
  visitor: 'vis_',
  request: 'req_',
  connection: 'conn_',
  /** A dashboard sign-in session (never shown: the browser holds only its cookie). */
  dashboardSession: 'dss_',
  device: 'dev_',
  push: 'psh_',
} as const

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

// Random bytes come from a pool refilled by the CSPRNG 4 KiB at a time: one system call per few
// hundred ids instead of one per id (every request gets an id).
const pool = Buffer.alloc(4096)
let poolOffset = pool.length

function randomByte(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  return pool[poolOffset++]!
}

/** Uniform random base62 string (rejection sampling keeps every character equally likely). */
export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    const byte = randomByte()
    if (byte < 248) out += BASE62[byte % 62] // 248 = 4 × 62: larger bytes would bias the result
  }
  return out
}

/** `prefix` + 22 base62 characters: about 131 bits of randomness. */
export function newId(kind: keyof typeof ID_PREFIX): string {
  return ID_PREFIX[kind] + randomBase62(22)
}

/** Base62 of a non-negative integer, left-padded to `width` (so strings sort like the numbers). */
function base62Fixed(value: number, width: number): string {
  let out = ''
  for (let i = 0; i < width; i++) {
    out = BASE62[value % 62]! + out
    value = Math.floor(value / 62)
  }
  return out
}

/**
 * `prefix` + 8 base62 characters of the creation time in milliseconds + 17 random base62
 * characters (about 101 bits). For rows written at high rates (messages, events): ids that grow
 * with time land at the right edge of their unique index instead of on a random page, which
 * roughly halves the pages a group commit writes on SQLite. The random part keeps them unguessable;
 * the time they reveal is already public as `createdAt`.
 */
export function newSortableId(kind: keyof typeof ID_PREFIX, now = Date.now()): string {
  return ID_PREFIX[kind] + base62Fixed(now, 8) + randomBase62(17)
}

/** Tenant-chosen ids (users, optionally conversations): 1–128 of [A-Za-z0-9_.@:-]. */
export const EXTERNAL_ID_PATTERN = '^[A-Za-z0-9_.@:-]{1,128}$'
