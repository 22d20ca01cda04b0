import { Type } from '@fastify/type-provider-typebox'
import { EXTERNAL_ID_PATTERN } from '../core/ids.js'
import { Nullable, PageQuery, Page, Timestamp, named } from '../http/schemas.js'

const Pem = (description: string) => Type.String({ minLength: 1, maxLength: 16_384, description })

// Shapes only: each provider's settings are then checked field by field (apns.ts, fcm.ts), with
// errors that say where the right value is found.
export const ApnsBody = Type.Object(
  {
    teamId: Type.String({ maxLength: 64, description: 'The 10-character Team ID of the Apple Developer account', examples: ['ABCDE12345'] }),
    keyId: Type.String({ maxLength: 64, description: 'The 10-character Key ID of the APNs auth key', examples: ['XYZ9876543'] }),
    privateKey: Pem('The text of the AuthKey_<keyId>.p8 file (a PEM EC P-256 key); stored encrypted, never returned'),
    bundleId: Type.String({ maxLength: 255, description: "The app's bundle id: every notification's apns-topic", examples: ['com.example.chat'] }),
    production: Type.Boolean({ description: "true: Apple's production host (App Store, TestFlight); false: the sandbox (development builds)" }),
  },
  { additionalProperties: false },
)

export const FcmBody = Type.Object(
  {
    serviceAccount: Type.Object(
      {
        project_id: Type.String({ maxLength: 200 }),
        client_email: Type.String({ maxLength: 320 }),
        private_key: Pem('PEM RSA key; stored encrypted, never returned'),
        token_uri: Type.Optional(Type.String({ maxLength: 2048 })),
        private_key_id: Type.Optional(Type.String({ maxLength: 200 })),
      },
      {
        // The service account's whole JSON key file may be given as it is; other fields are ignored.
        additionalProperties: true,
        description: "The service account's JSON key file (Firebase console → Project settings → Service accounts)",
      },
    ),
  },
  { additionalProperties: false },
)

export const WebPushBody = Type.Object(
  {
    subject: Type.String({
      maxLength: 512,
      pattern: '^(mailto:|https://)\\S+$',
      description: 'How a push service reaches you about your notifications: a mailto: or https: URL (the VAPID `sub`)',
      examples: ['mailto:ops@example.com'],
    }),
  },
  { additionalProperties: false },
)

const ProviderType = Type.Union([Type.Literal('apns'), Type.Literal('fcm'), Type.Literal('webpush')])

export const ProviderSchema = named(
  'PushProvider',
  Type.Object(
    {
      type: ProviderType,
      configured: Type.Literal(true),
      updatedAt: Timestamp,
      teamId: Type.Optional(Type.String({ description: 'APNs' })),
      keyId: Type.Optional(Type.String({ description: 'APNs' })),
      bundleId: Type.Optional(Type.String({ description: 'APNs' })),
      production: Type.Optional(Type.Boolean({ description: 'APNs' })),
      serviceAccount: Type.Optional(
        Type.Object(
          { project_id: Type.String(), client_email: Type.String(), token_uri: Type.Optional(Type.String()), private_key_id: Type.Optional(Type.String()) },
          { description: 'FCM: the service account, without its private key' },
        ),
      ),
      subject: Type.Optional(Type.String({ description: 'Web Push' })),
      publicKey: Type.Optional(Type.String({ description: 'Web Push: the VAPID public key (base64url), the applicationServerKey browsers subscribe with' })),
    },
    { description: "A configured provider's public settings; private keys are never returned" },
  ),
)

export const ProviderList = named('PushProviderList', Type.Object({ data: Type.Array(ProviderSchema) }))

const Base64Url = (description: string) => Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_-]+={0,2}$', description })

export const DeviceBody = Type.Object(
  {
    provider: ProviderType,
    token: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: 'APNs: the device token (hex); FCM: the registration token. Not with webpush.' }),
    ),
    subscription: Type.Optional(
      Type.Object(
        {
          endpoint: Type.String({ minLength: 1, maxLength: 2048, description: "The push service URL of the browser's PushSubscription" }),
          keys: Type.Object({ p256dh: Base64Url('65-byte P-256 public key, base64url'), auth: Base64Url('16-byte auth secret, base64url') }, { additionalProperties: false }),
        },
        { additionalProperties: false, description: "Web Push only: the browser's PushSubscription (subscription.toJSON())" },
      ),
    ),
  },
  { additionalProperties: false },
)

export const DeviceSchema = named(
  'PushDevice',
  Type.Object({
    id: Type.String({ examples: ['dev_3kTq9w2XbZ7yV1mN8pLr4a'] }),
    provider: ProviderType,
    platform: Type.Union([Type.Literal('ios'), Type.Literal('android'), Type.Literal('web')], { description: 'apns → ios, fcm → android, webpush → web' }),
    createdAt: Timestamp,
    lastUsedAt: Type.String({ format: 'date-time', description: 'When it was last registered or pushed to' }),
  }),
)

export const DeviceList = named('PushDeviceList', Type.Object({ data: Type.Array(DeviceSchema, { description: 'At most 25, most recently used first' }) }))

export const UserParams = Type.Object({ userId: Type.String({ maxLength: 128 }) })
export const UserDeviceParams = Type.Object({ userId: Type.String({ maxLength: 128 }), id: Type.String({ maxLength: 128 }) })

export const MuteBody = Type.Optional(
  Type.Object(
    { until: Type.Optional(Timestamp) },
    { additionalProperties: false, description: 'Without `until`, muted until unmuted' },
  ),
)

const Status = Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('failed'), Type.Literal('pruned'), Type.Literal('test')])

export const PushDeliverySchema = named(
  'PushDelivery',
  Type.Object({
    id: Type.String({ examples: ['psh_0Vbnvp9cxw3yugBtv78hx9iTC'] }),
    userId: Type.String(),
    deviceId: Type.String(),
    provider: ProviderType,
    conversationId: Type.String(),
    messageId: Type.String(),
    status: Status,
    attempt: Type.Integer({ description: 'Attempts made so far (0 while the first is waiting, and in test mode)' }),
    responseStatus: Nullable(Type.Integer({ description: "The provider's HTTP status at the latest attempt" })),
    reason: Nullable(Type.String({ description: "What went wrong, or why the device was pruned (the provider's reason)" })),
    payload: Type.Unknown({ description: 'Test mode only: exactly what would have been sent; null otherwise' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  }),
)

export const PushDeliveryPage = Page(PushDeliverySchema)

export const PushDeliveryQuery = Type.Object(
  {
    ...PageQuery.properties,
    userId: Type.Optional(Type.String({ pattern: EXTERNAL_ID_PATTERN, description: "Only this user's notifications" })),
  },
  { additionalProperties: false },
)
