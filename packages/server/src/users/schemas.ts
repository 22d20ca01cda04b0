import { Type } from '@fastify/type-provider-typebox'
import { EXTERNAL_ID_PATTERN } from '../core/ids.js'
import { Metadata, Nullable, Page, Timestamp, named } from '../http/schemas.js'

export const UserId = Type.String({ pattern: EXTERNAL_ID_PATTERN, description: 'The tenant’s own user id' })

export const UserSchema = named('User', Type.Object({
  id: Type.String(),
  username: Nullable(Type.String()),
  displayName: Nullable(Type.String()),
  avatarUrl: Nullable(Type.String()),
  metadata: Nullable(Metadata),
  kind: Type.Union([Type.Literal('user'), Type.Literal('visitor')]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}))

export const UserPage = Page(UserSchema)

export const UserFieldsSchema = {
  username: Type.Optional(Nullable(Type.String({ maxLength: 128 }))),
  displayName: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
  avatarUrl: Type.Optional(Nullable(Type.String({ maxLength: 2048, format: 'uri' }))),
  metadata: Type.Optional(Nullable(Metadata)),
}
