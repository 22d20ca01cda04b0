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
  return ({ schema, httpPart }) => {
    if (httpPart !== 'body') return queries.compile(schema as object)
    const validate = bodies.compile(schema as object)
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
