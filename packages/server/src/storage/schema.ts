/**
 * Table types for Kysely. Timestamps are ISO 8601 UTC strings and JSON columns are text on both
 * engines, so the same queries run unchanged on SQLite and PostgreSQL.
 */
import type { Generated } from 'kysely'

export interface MetaTable {
  key: string
  value: string
}

export interface TenantsTable {
  id: string
  name: string
  plan: string
  /** JSON { limit, windowSeconds } or null (plan default). */
  rate_limit: string | null
  suspended: number
  created_at: string
  updated_at: string
  deleted_at: string | null
}

export interface ApiKeysTable {
  id: string
  tenant_id: string
  environment: 'live' | 'test'
  type: 'secret' | 'publishable'
  name: string
  /** Hex SHA-256 of the plaintext; the plaintext itself is never stored. */
  key_hash: string
  display: string
  /** JSON string[]; [] = unscoped. */
  scopes: string
  allowed_origins: string | null
  rate_limit: string | null
  metadata: string | null
  created_at: string
  updated_at: string
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
  rolled_to: string | null
  /** Visitor-token inactivity lifetime for publishable keys (seconds). */
  visitor_ttl_seconds: number | null
}

export interface SigningKeysTable {
  kid: string
  /** AES-256-GCM ciphertext of the private JWK (base64 iv.tag.data). */
  private_jwk_encrypted: string
  public_jwk: string
  created_at: string
  /** Set on rotation: the key stops signing but stays published until retire_after. */
  rotated_at: string | null
  retire_after: string | null
}

export interface UsersTable {
  tenant_id: string
  environment: 'live' | 'test'
  id: string
  kind: 'user' | 'visitor'
  /** For visitors: the device id the front end sent (unique per tenant and environment). */
  visitor_key: string | null
  username: string | null
  display_name: string | null
  avatar_url: string | null
  email: string | null
  metadata: string | null
  /** Tokens issued before this instant are revoked (ISO, millisecond precision). */
  tokens_valid_after: string | null
  created_at: string
  updated_at: string
}

export interface ConversationsTable {
  tenant_id: string
  environment: 'live' | 'test'
  id: string
  type: 'direct' | 'group'
  name: string | null
  metadata: string | null
  /** For direct conversations: the two member ids sorted and joined, unique per environment. */
  direct_key: string | null
  last_seq: number
  /** Bumped by every change to the conversation's messages: cached history pages key on it. */
  history_revision: number
  last_activity_at: string
  created_by: string | null
  created_at: string
  updated_at: string
}

export interface MembersTable {
  tenant_id: string
  environment: 'live' | 'test'
  conversation_id: string
  user_id: string
  role: 'owner' | 'member'
  joined_at: string
  last_read_seq: number
}

export interface MessagesTable {
  tenant_id: string
  environment: 'live' | 'test'
  conversation_id: string
  seq: number
  id: string
  sender_id: string
  text: string
  metadata: string | null
  client_message_id: string | null
  created_at: string
  edited_at: string | null
  deleted_at: string | null
}

/** The outbox: every domain event, written in the same transaction as the change it describes. */
export interface EventsTable {
  position: Generated<number>
  id: string
  tenant_id: string
  environment: 'live' | 'test'
  type: string
  conversation_id: string | null
  /** The message or conversation whose content this row still holds; NULL once forgotten (events/content.ts). */
  content_id: string | null
  /** The event's data, with placeholders where its content goes. */
  data: string
  /** The content fields of `data` (text, name, metadata) as JSON; NULL when none or forgotten. */
  content: string | null
  created_at: string
}

/** Who reads stored events, and up to which position each has handled them (events/consumers.ts). */
export interface EventConsumersTable {
  name: string
  position: number
  updated_at: string
}

/** How far every consumer had got, and when: decides which events retention may delete. */
export interface EventWatermarksTable {
  position: number
  reached_at: string
}

/** One row per key per bucket (minute, hour or day): counters summed by the usage flusher. */
export interface UsageTable {
  key_id: string
  /** The bucket's start, ISO 8601 UTC. */
  bucket: string
  tenant_id: string
  environment: 'live' | 'test'
  requests: number
  success: number
  client_errors: number
  server_errors: number
  rate_limited: number
  /** Sum of response times, for the average. */
  latency_ms: number
}

export interface AlertRulesTable {
  tenant_id: string
  environment: 'live' | 'test'
  rules: string
  updated_at: string
}

export interface AlertEventsTable {
  id: string
  tenant_id: string
  environment: 'live' | 'test'
  key_id: string
  rule: string
  details: string
  created_at: string
}

/**
 * The outbound delivery queue (delivery/queue.ts), one row per attempt: a row is `pending` until
 * its attempt is made, then `succeeded` or `failed`; a retry is a new row. The pending rows are
 * the queue, all rows are the delivery log.
 */
export interface DeliveriesTable {
  id: string
  /** Which consumer of the queue: 'webhook' or 'push'. */
  kind: string
  /** Where it goes (a webhook endpoint id): the unit of concurrency and fairness. */
  destination: string
  event_id: string
  event_position: number
  event_type: string
  /** Deliveries with the same key go out in event order (a conversation id); null = no order. */
  order_key: string | null
  /** 1 for the first attempt at this event and destination. */
  attempt: number
  status: 'pending' | 'succeeded' | 'failed'
  /** When the attempt is (or was) due. */
  next_attempt_at: string
  /** The node attempting it now, and until when its claim holds. */
  lease_owner: string | null
  lease_until: string | null
  attempted_at: string | null
  response_status: number | null
  duration_ms: number | null
  error: string | null
  /** At most the first 1 KB of the receiver's answer. */
  response_body: string | null
  created_at: string
}

/** Webhook endpoints (webhooks/store.ts); secrets are sealed by the KEK, never stored in the clear. */
export interface WebhookEndpointsTable {
  id: string
  tenant_id: string
  environment: 'live' | 'test'
  url: string
  description: string | null
  /** JSON string[]: event types, or ["*"]. */
  events: string
  enabled: number
  disabled_reason: 'failing' | 'gone' | null
  /** Since when every attempt has failed (null after a success). */
  failing_since: string | null
  secret: string
  /** During a rotation's overlap: the previous secret, and until when it still signs. */
  previous_secret: string | null
  previous_secret_until: string | null
  created_at: string
  updated_at: string
}

/** Where a key was found in public (leaks/store.ts): one row per key and place, never the key itself. */
export interface LeakReportsTable {
  key_id: string
  /** Hex SHA-256 of the URL and source: the same report twice is one row. */
  place: string
  url: string
  source: string
  reported_at: string
}

/** A tenant environment's push provider (push/settings.ts): public settings, and the private key(s) sealed by the KEK. */
export interface PushProvidersTable {
  tenant_id: string
  environment: 'live' | 'test'
  type: 'apns' | 'fcm' | 'webpush'
  /** JSON of the public fields. */
  settings: string
  /** The private key(s), sealed by the KEK; never stored in the clear. */
  secret: string
  created_at: string
  updated_at: string
}

/** Where a user's notifications go (push/devices.ts). */
export interface PushDevicesTable {
  id: string
  tenant_id: string
  environment: 'live' | 'test'
  user_id: string
  provider: 'apns' | 'fcm' | 'webpush'
  platform: 'ios' | 'android' | 'web'
  /** The APNs or FCM token, or a Web Push subscription's endpoint. */
  token: string
  /** JSON `{ p256dh, auth }` of a Web Push subscription; null otherwise. */
  keys: string | null
  created_at: string
  /** Registered or pushed to: the 26th device of a user replaces the least recently used. */
  last_used_at: string
}

/** A member who muted a conversation (push/mutes.ts). */
export interface PushMutesTable {
  tenant_id: string
  environment: 'live' | 'test'
  conversation_id: string
  user_id: string
  /** Null: muted until unmuted. */
  until: string | null
  created_at: string
}

/** One notification (a message to one device), as the push log lists it (push/log.ts). */
export interface PushLogTable {
  id: string
  tenant_id: string
  environment: 'live' | 'test'
  user_id: string
  device_id: string
  provider: 'apns' | 'fcm' | 'webpush'
  conversation_id: string
  message_id: string
  event_id: string
  event_position: number
  status: 'pending' | 'sent' | 'failed' | 'pruned' | 'test'
  /** Attempts made so far. */
  attempt: number
  response_status: number | null
  reason: string | null
  /** JSON of what it says (PushMessage), only while it waits to be sent. */
  message: string | null
  /** JSON of what would have been sent, only in test mode. */
  payload: string | null
  created_at: string
  updated_at: string
}

/**
 * Dashboard sign-in sessions (auth/dashboard-sessions.ts): only the SHA-256 of the cookie is
 * stored. Tenant sessions name their key; operator sessions carry the admin key's hash sealed
 * by the KEK instead.
 */
export interface DashboardSessionsTable {
  id: string
  token_hash: string
  kind: 'operator' | 'tenant'
  key_id: string | null
  tenant_id: string | null
  environment: 'live' | 'test' | null
  admin_key_seal: string | null
  created_at: string
  expires_at: string
  revoked_at: string | null
}

export interface Database {
  meta: MetaTable
  tenants: TenantsTable
  api_keys: ApiKeysTable
  signing_keys: SigningKeysTable
  users: UsersTable
  conversations: ConversationsTable
  members: MembersTable
  messages: MessagesTable
  events: EventsTable
  event_consumers: EventConsumersTable
  event_watermarks: EventWatermarksTable
  usage_minutes: UsageTable
  usage_hours: UsageTable
  usage_days: UsageTable
  alert_rules: AlertRulesTable
  alert_events: AlertEventsTable
  deliveries: DeliveriesTable
  webhook_endpoints: WebhookEndpointsTable
  leak_reports: LeakReportsTable
  push_providers: PushProvidersTable
  push_devices: PushDevicesTable
  push_mutes: PushMutesTable
  push_log: PushLogTable
  dashboard_sessions: DashboardSessionsTable
}
