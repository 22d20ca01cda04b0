/**
 * Two validators: bodies are strict (no type coercion, unknown fields rejected), while query
 * strings and path params coerce "50" to 50 and drop parameters no route declares.
 */
import { Ajv, type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

// ajv-formats is CommonJS; under NodeNext its callable export arrives as `.default`.
type AddFormats = (ajv: Ajv) => Ajv
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats)

function build(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: false, ...options })
  addFormats(ajv)
  return ajv
}

export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodies = build({ coerceTypes: false, removeAdditional: false })
  const queries = build({ coerceTypes: 'array', removeAdditional: true })
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodies : queries).compile(schema as object)
}
