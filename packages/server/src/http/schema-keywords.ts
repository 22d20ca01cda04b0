/**
 * The rules JSON Schema cannot state, as ajv keywords the shared schemas carry (API.md §12), so
 * every route that uses a schema applies them and none can forget:
 *   - `"x-json-limits": { maxDepth, maxBytes }`: a free-form value's nesting and serialised size;
 *   - `"x-canonical": "date-time"`: a date-time reaches the handler as the instant it names;
 *   - `"x-no-nul": true`: no U+0000 in a string, added to every string schema by `refuseNul`.
 */
import type { Ajv, SchemaValidateFunction } from 'ajv'
import { nestsDeeperThan } from '../lib/json.js'
import { parseTimestamp } from '../lib/time.js'

export const JSON_LIMITS = 'x-json-limits'
export interface JsonLimits {
  /** Levels of objects and arrays, the value itself being level 1. */
  maxDepth: number
  /** UTF-8 bytes of its JSON. */
  maxBytes: number
}

/**
 * A valid value is rewritten as `toISOString()` writes it, so every handler, store and comparison
 * downstream gets one shape, with the offset and any leap second already applied.
 */
export const CANONICAL = 'x-canonical'

const NO_NUL = 'x-no-nul'

export function addKeywords(ajv: Ajv): void {
  ajv.addFormat('date-time', { type: 'string', validate: (text: string) => parseTimestamp(text) !== null })
  ajv.addKeyword({ keyword: CANONICAL, schemaType: 'string', modifying: true, validate: canonicalDateTime })
  ajv.addKeyword({ keyword: JSON_LIMITS, schemaType: 'object', errors: true, validate: withinJsonLimits })
  ajv.addKeyword({ keyword: NO_NUL, schemaType: 'boolean', errors: true, validate: withoutNul })
}

type Cxt = { parentData: Record<string | number, unknown>; parentDataProperty: string | number }

function canonicalDateTime(_kind: 'date-time', data: unknown, _schema: unknown, cxt?: Cxt): boolean {
  if (typeof data !== 'string') return true // null, where the schema allows it
  const ms = parseTimestamp(data)
  if (ms === null) return false
  if (cxt) cxt.parentData[cxt.parentDataProperty] = new Date(ms).toISOString()
  return true
}

const withinJsonLimits: SchemaValidateFunction = (limits: JsonLimits, data: unknown): boolean => {
  // Depth first, without recursion: it bounds the nesting JSON.stringify then recurses through.
  const problem = nestsDeeperThan(data, limits.maxDepth)
    ? `must be at most ${limits.maxDepth} levels deep`
    : data != null && Buffer.byteLength(JSON.stringify(data)) > limits.maxBytes
      ? `must be at most ${limits.maxBytes} bytes when serialised as JSON`
      : null
  withinJsonLimits.errors = problem === null ? [] : [{ keyword: JSON_LIMITS, message: problem, params: {} }]
  return problem === null
}

const withoutNul: SchemaValidateFunction = (_on: boolean, data: unknown): boolean => {
  const valid = typeof data !== 'string' || !data.includes('\u0000')
  withoutNul.errors = valid ? [] : [{ keyword: NO_NUL, message: 'must not contain the character U+0000', params: {} }]
  return valid
}

/** Keywords whose value is a value, not a schema: rewrites of a schema leave them as they are. */
export const VALUE_KEYWORDS = new Set(['const', 'enum', 'default', 'examples'])

/**
 * A copy of a request schema in which every string refuses U+0000. PostgreSQL text cannot hold
 * that character (SQLite can), so it would otherwise pass validation and fail the query: a 500 on
 * one engine only. Metadata's contents are free: they are stored as JSON text, where it is the
 * escape `\u0000`.
 */
export function refuseNul(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(refuseNul)
  if (typeof schema !== 'object' || schema === null) return schema
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) copy[key] = VALUE_KEYWORDS.has(key) ? value : refuseNul(value)
  const { type } = copy
  if (type === 'string' || (Array.isArray(type) && type.includes('string'))) copy[NO_NUL] = true
  return copy
}
