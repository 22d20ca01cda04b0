import { Type } from '@fastify/type-provider-typebox'
import { Metadata, Nullable, Page, RateLimitSchema, Timestamp, named, ref } from '../http/schemas.js'

export const LeakReportSchema = named(
  'LeakReport',
  Type.Object({
    url: Type.String({ description: 'Where the key was found, as the reporter gave it', examples: ['https://github.com/acme/app/blob/abc123/.env'] }),
    source: Type.String({ description: 'What the reporter scanned: content, commit, issue_comment…', examples: ['content'] }),
    reportedAt: Timestamp,
  }),
)

export const KeySchema = named('Key', Type.Object({
  id: Type.String({ examples: ['key_3kTq9w2XbZ7yV1mN8pLr4a'] }),
  name: Type.String(),
  type: Type.Union([Type.Literal('secret'), Type.Literal('publishable')]),
  environment: Type.Union([Type.Literal('live'), Type.Literal('test')]),
  display: Type.String({ examples: ['sk_live_Ab3x…9fQ2'] }),
  scopes: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired')]),
  createdAt: Timestamp,
  lastUsedAt: Nullable(Timestamp),
  expiresAt: Nullable(Timestamp),
  allowedOrigins: Nullable(Type.Array(Type.String())),
  visitorTtlSeconds: Nullable(Type.Integer({ description: 'Visitor token inactivity lifetime (publishable keys); null = 1800' })),
  rateLimit: Nullable(RateLimitSchema),
  metadata: Nullable(Metadata),
  leakReports: Type.Optional(
    Type.Array(ref(LeakReportSchema), {
      description: 'GET /v1/keys/{id} only: where the key was reported found in public, oldest first (API.md §11). One entry per place.',
    }),
  ),
}))

export const keySchemaWithSecret = named(
  'KeyWithSecret',
  Type.Composite([KeySchema, Type.Object({ key: Type.String({ description: 'The plaintext key. Shown once; store it now.' }) })]),
)

export const KeyPage = Page(KeySchema)
