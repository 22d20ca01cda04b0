/**
 * Two validators: bodies are strict (no type coercion, unknown fields rejected), while query
 * strings and path params coerce "50" to 50 and drop parameters no route declares. Both know the
 * rules JSON Schema cannot state (schema-keywords.ts), the string formats the schemas use, and
 * word their errors for people: a choice among values names the values, once.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'
import { VALUE_KEYWORDS, addKeywords, refuseNul } from './schema-keywords.js'

/** The `email` of ajv-formats' full mode: a dot-atom local part and a domain of DNS labels. */
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i

/** An absolute URI as RFC 3986 writes it (ASCII only: scheme, authority or path, query, fragment). */
const URI = (() => {
  const pct = '%[0-9a-f]{2}'
  const sub = "a-z0-9\\-._~!$&'()*+,;="
  const pchar = `(?:[${sub}:@]|${pct})`
  const octet = '(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)'
  const ipv4 = `(?:${octet}\\.){3}${octet}`
  // Bracketed literals are checked for their characters only: IPv6 or IPvFuture (`v1.x`).
  const ipLiteral = `\\[(?:[0-9a-f:.]+|v[0-9a-f]+\\.[${sub}:]+)\\]`
  const host = `(?:${ipLiteral}|${ipv4}|(?:[${sub}]|${pct})*)`
  const authority = `\\/?\\/(?:(?:[${sub}:]|${pct})*@)?${host}(?::\\d*)?(?:\\/${pchar}*)*`
  const absolutePath = `\\/(?:${pchar}+(?:\\/${pchar}*)*)?`
  const rootlessPath = `${pchar}+(?:\\/${pchar}*)*`
  const tail = `(?:[${sub}:@/?]|${pct})*`
  return new RegExp(`^[a-z][a-z0-9+\\-.]*:(?:${authority}|${absolutePath}|${rootlessPath})(?:\\?${tail})?(?:#${tail})?$`, 'i')
})()

function build(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: false, ...options })
  ajv.addFormat('email', EMAIL)
  ajv.addFormat('uri', URI)
  addKeywords(ajv)
  return ajv
}

export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodies = build({ coerceTypes: false, removeAdditional: false })
  const queries = build({ coerceTypes: 'array', removeAdditional: true })
  return ({ schema, httpPart }) => {
    const prepared = refuseNul(choicesAsEnums(schema)) as object
    if (httpPart !== 'body') return worded(queries.compile(prepared))
    const validate = worded(bodies.compile(prepared))
    // Fastify hands a request without a body to the validator as null. Validate it as {} instead,
    // so a bare `POST /v1/keys/{id}/roll` works when every field is optional, and a route with
    // required fields names the first missing one rather than answering "body must be object".
    const validateBody = (data: unknown) => {
      const body = data ?? {}
      const valid = validate(body)
      validateBody.errors = validate.errors
      return valid ? { value: body } : false
    }
    validateBody.errors = null as typeof validate.errors
    return validateBody
  }
}

/** The validator, with its errors worded for people (see `wording`). */
function worded(validate: ValidateFunction): ValidateFunction {
  const wrapped = ((data: unknown) => {
    const valid = validate(data)
    wrapped.errors = validate.errors?.map(wording) ?? null
    return valid
  }) as ValidateFunction
  wrapped.errors = null
  return wrapped
}

function wording(error: ErrorObject): ErrorObject {
  if (error.keyword === 'enum') {
    const values = (error.params as { allowedValues: unknown[] }).allowedValues
    return { ...error, message: `must be one of: ${values.map(String).join(', ')}` }
  }
  if (error.keyword === 'const') return { ...error, message: `must be ${String((error.params as { allowedValue: unknown }).allowedValue)}` }
  return error
}

type Schema = Record<string, unknown>

/** The values a schema allows when it is a bare choice of values (`const`, `enum`, `null`), else null. */
function valuesOf(schema: unknown): { types: unknown[]; values: unknown[] } | null {
  if (typeof schema !== 'object' || schema === null) return null
  const { type, const: single, enum: many, ...rest } = schema as Schema
  if (Object.keys(rest).some((key) => key !== 'description')) return null
  const types = type === undefined ? [] : [type].flat()
  if (single !== undefined) return { types, values: [single] }
  if (Array.isArray(many)) return { types, values: many }
  if (type === 'null') return { types, values: [null] }
  return null
}

/**
 * A copy of a schema in which every `anyOf` of bare values (TypeBox writes a union of literals so,
 * `Nullable` adds a null) is one `enum`. Ajv then reports a wrong value once, with the allowed
 * values, instead of one "must be equal to constant" per value and a "must match a schema in anyOf".
 */
export function choicesAsEnums(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(choicesAsEnums)
  if (typeof schema !== 'object' || schema === null) return schema
  const copy: Schema = {}
  for (const [key, value] of Object.entries(schema)) copy[key] = VALUE_KEYWORDS.has(key) ? value : choicesAsEnums(value)
  if (!Array.isArray(copy.anyOf)) return copy
  const choices = copy.anyOf.map(valuesOf)
  if (choices.some((choice) => choice === null)) return copy
  const { anyOf: _anyOf, ...rest } = copy
  const types = [...new Set(choices.flatMap((choice) => choice!.types))]
  return { ...rest, ...(types.length > 0 && { type: types.length === 1 ? types[0] : types }), enum: choices.flatMap((choice) => choice!.values) }
}
