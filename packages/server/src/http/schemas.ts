/** Schemas shared by many routes: problem bodies, pagination, metadata, timestamps. */
import { type Static, type TSchema, type TUnsafe, Type } from '@sinclair/typebox'
import { invalidParam } from '../errors.js'

/**
 * `T | null` as `type: [T, "null"]` rather than `anyOf`: the response serialiser handles a type
 * list with a typeof check, but an anyOf with a validator call per value (most of the cost of a
 * page of messages).
 */
export const Nullable = <T extends TSchema>(schema: T): TUnsafe<Static<T> | null> => {
  const type = (schema as { type?: unknown }).type
  if (typeof type !== 'string') return Type.Unsafe<Static<T> | null>(Type.Union([schema, Type.Null()]))
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, 'null'] })
}

export const Timestamp = Type.String({ format: 'date-time', examples: ['2026-05-30T12:00:00.000Z'] })

export const Metadata = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Free-form JSON object, at most 8 KiB when serialised',
})

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ param: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
)

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
)

export const Page = <T extends TSchema>(item: T) => Type.Object({ data: Type.Array(item), nextCursor: Nullable(Type.String()) })

export const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) })

export const RateLimitSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
)

/** The error responses every authenticated route can give, for the OpenAPI document. */
export const authErrors = {
  400: Type.Ref(Problem),
  401: Type.Ref(Problem),
  403: Type.Ref(Problem),
  429: Type.Ref(Problem),
}

export const METADATA_MAX_BYTES = 8 * 1024

/** Rejects metadata over 8 KiB (JSON Schema cannot express a serialised size). */
export function checkMetadata(metadata: unknown, param = 'metadata'): void {
  if (metadata != null && Buffer.byteLength(JSON.stringify(metadata)) > METADATA_MAX_BYTES) {
    throw invalidParam(param, 'must be at most 8 KiB when serialised as JSON')
  }
}
