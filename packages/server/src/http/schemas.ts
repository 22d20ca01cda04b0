/**
 * Schemas shared by many routes: problem bodies, pagination, metadata, timestamps; and the named
 * schemas the OpenAPI document lists under `components` (`named`), which routes refer to (`ref`).
 */
import { type Static, type TSchema, type TUnsafe, Type } from '@sinclair/typebox'
import { ERROR_CODES, type ErrorCode } from '../core/errors.js'
import { CANONICAL, JSON_LIMITS, type JsonLimits } from './schema-keywords.js'

declare module 'fastify' {
  interface FastifySchema {
    /**
     * The codes this route answers beyond those its auth policy and its schemas imply (the
     * OpenAPI document derives those: openapi/problems.ts), e.g. `['user_not_found', 'conflict']`.
     */
    errorCodes?: readonly ErrorCode[]
  }
}

const NAMED = new Map<string, TSchema>()

/**
 * A schema with a name: registered with Fastify (openapi.ts adds every one), listed under the
 * OpenAPI document's `components`, and used in routes through `ref`, never copied inline.
 */
export function named<T extends TSchema>(id: string, schema: T): T & { $id: string } {
  if (NAMED.has(id)) throw new Error(`Two schemas are named ${id}`)
  const withId = { ...schema, $id: id }
  NAMED.set(id, withId)
  return withId
}

/** Every named schema, in the order they were named. */
export const namedSchemas = (): TSchema[] => [...NAMED.values()]

/** A reference to a named schema, typed as the schema itself. */
export const ref = <T extends TSchema & { $id: string }>(schema: T): TUnsafe<Static<T>> => Type.Unsafe<Static<T>>(Type.Ref(schema.$id))

/**
 * `T | null` as `type: [T, "null"]` rather than `anyOf`: the response serialiser handles a type
 * list with a typeof check, but an anyOf with a validator call per value (most of the cost of a
 * page of messages).
 */
export const Nullable = <T extends TSchema>(schema: T): TUnsafe<Static<T> | null> => {
  const { type, enum: values } = schema as { type?: unknown; enum?: unknown }
  if (typeof type !== 'string') return Type.Unsafe<Static<T> | null>(Type.Union([schema, Type.Null()]))
  // An enum must list null too, or the type's null would still be refused.
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, 'null'], ...(Array.isArray(values) && { enum: [...values, null] }) })
}

/** An RFC 3339 date-time; accepted ones reach handlers in `toISOString` form (schema-keywords.ts). */
export const Timestamp = Type.String({ format: 'date-time', [CANONICAL]: 'date-time', examples: ['2026-05-30T12:00:00.000Z'] })

export const METADATA_LIMITS: JsonLimits = { maxDepth: 8, maxBytes: 8 * 1024 }

/**
 * Any JSON object, as `additionalProperties: true` rather than Type.Record: a Record's key pattern
 * `^(.*)$` does not match keys holding a line break, and the response serialiser silently dropped them.
 */
export const Metadata = Type.Unsafe<Record<string, unknown>>({
  type: 'object',
  additionalProperties: true,
  description: 'Free-form JSON object: at most 8 KiB as UTF-8 JSON and 8 levels deep (the object itself is level 1)',
  [JSON_LIMITS]: METADATA_LIMITS,
})

export const ErrorCodeSchema = named(
  'ErrorCode',
  Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(ERROR_CODES), description: 'The closed list of error codes: branch on these' }),
)

export const Problem = named(
  'Problem',
  Type.Object(
    {
      type: Type.String({ format: 'uri', description: 'Links to the code on the /docs/errors page', examples: ['https://chat.example.com/docs/errors#not_found'] }),
      title: Type.String({ examples: ['Not Found'] }),
      status: Type.Integer({ examples: [404] }),
      detail: Type.String({ description: 'For people; its wording may change', examples: ['Key not found'] }),
      code: ref(ErrorCodeSchema),
      requestId: Type.String({ description: 'The x-request-id of the response', examples: ['req_uKyTI3smkwlqcKrSRZ2cof'] }),
      errors: Type.Optional(Type.Array(Type.Object({ param: Type.String(), message: Type.String() }), { description: 'Only on validation_failed' })),
    },
    { description: 'RFC 9457 problem details' },
  ),
)

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
)

const NextCursor = Nullable(Type.String({ description: 'Pass it back as `cursor` for the next page; null on the last page' }))

/** A page of a list of a named item (`{ data, nextCursor }`), itself named after it: `KeyPage`… */
export function Page<T extends TSchema & { $id: string }>(item: T) {
  return ref(named(`${item.$id}Page`, Type.Object({ data: Type.Array(ref(item)), nextCursor: NextCursor })))
}

export const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) })

export const RateLimitSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
)
