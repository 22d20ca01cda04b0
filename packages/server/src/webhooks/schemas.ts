import { Type } from '@fastify/type-provider-typebox'
import { Nullable, Page, PageQuery, Timestamp, named } from '../http/schemas.js'

const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL of a public host', examples: ['https://api.example.com/parley/webhooks'] })
const Events = Type.Array(Type.String({ maxLength: 64 }), {
  minItems: 1,
  maxItems: 64,
  uniqueItems: true,
  description: 'Event types (GET /v1/webhooks/event-types), or ["*"] for all',
  examples: [['message.created', 'member.added']],
})
const Description = Nullable(Type.String({ maxLength: 500 }))

export const EndpointBody = Type.Object({ url: Url, events: Events, description: Type.Optional(Description) }, { additionalProperties: false })

export const EndpointPatchBody = Type.Object(
  { url: Type.Optional(Url), events: Type.Optional(Events), description: Type.Optional(Description), enabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)

export const EndpointSchema = named('WebhookEndpoint', Type.Object({
  id: Type.String({ examples: ['whk_3kTq9w2XbZ7yV1mN8pLr4a'] }),
  url: Type.String(),
  description: Nullable(Type.String()),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Nullable(Type.String({ enum: ['failing', 'gone'], description: 'Why Parley disabled it: "gone" (a 410), "failing" (5 days of failures); null otherwise' })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}))

export const EndpointWithSecret = named(
  'WebhookEndpointWithSecret',
  Type.Composite([EndpointSchema, Type.Object({ secret: Type.String({ description: 'The signing secret (whsec_…). Shown once; store it now.' }) })]),
)

export const EndpointPage = Page(EndpointSchema)

export const EventTypeList = named(
  'WebhookEventTypeList',
  Type.Object({ data: Type.Array(Type.Object({ type: Type.String({ examples: ['message.created'] }), description: Type.String() })) }),
)

const Status = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])

export const DeliverySchema = named('WebhookDelivery', Type.Object({
  id: Type.String({ examples: ['dlv_0Vbnvp9cxw3yugBtv78hx9iTC'] }),
  eventId: Type.String({ description: 'The event (evt_…), sent as webhook-id on every attempt' }),
  eventType: Type.String(),
  attempt: Type.Integer({ description: '1 for the first attempt at this event' }),
  status: Status,
  responseStatus: Nullable(Type.Integer()),
  durationMs: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  responseBody: Nullable(Type.String({ description: "At most the first 1 KB of the receiver's answer" })),
  createdAt: Timestamp,
  attemptedAt: Nullable(Timestamp),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time', description: 'When a pending attempt is due' })),
}))

export const DeliveryPage = Page(DeliverySchema)

export const DeliveryListQuery = Type.Object(
  {
    ...PageQuery.properties,
    status: Type.Optional(Status),
    eventId: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
)
