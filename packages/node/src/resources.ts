/**
 * The resource objects of `Parley`: each method is one call of the request path, typed by the
 * OpenAPI operation it calls (SDK.md "@parley/node").
 */
import type { Requester } from './request.js'
import type { Answer, Body, Query } from './types.js'

const seg = (value: string) => encodeURIComponent(value)

export function users(request: Requester) {
  return {
    /** Creates or updates a user: `{ user, created }`. Safe to retry: the same body gives the same user. */
    async upsert(fields: Body<'users.upsert'>): Promise<{ user: Answer<'users.upsert'>; created: boolean }> {
      let created = false
      const user = await request<Answer<'users.upsert'>>({ method: 'POST', path: '/v1/users', body: fields, idempotent: true, onStatus: (status) => (created = status === 201) })
      return { user, created }
    },
    get: (id: string) => request<Answer<'users.get'>>({ method: 'GET', path: `/v1/users/${seg(id)}` }),
    list: (query: Query<'users.list'> = {}) => request<Answer<'users.list'>>({ method: 'GET', path: '/v1/users', query }),
    update: (id: string, fields: Body<'users.update'>) => request<Answer<'users.update'>>({ method: 'PATCH', path: `/v1/users/${seg(id)}`, body: fields }),
    delete: (id: string) => request<void>({ method: 'DELETE', path: `/v1/users/${seg(id)}` }),
    /** Every session token of the user issued until now stops working, and its sockets close. */
    revokeTokens: (id: string) => request<void>({ method: 'POST', path: `/v1/users/${seg(id)}/revoke-tokens`, idempotent: true }),
  }
}

export function tokens(request: Requester) {
  return {
    /** A session token for a user that was upserted: `{ token, expiresAt }`. */
    create: (fields: Body<'tokens.create'>) => request<Answer<'tokens.create'>>({ method: 'POST', path: '/v1/auth/token', body: fields, idempotent: true }),
  }
}

export function keys(request: Requester) {
  return {
    /** A new key: the key object with its plaintext `key`, shown this once. */
    create: (fields: Body<'keys.create'>) => request<Answer<'keys.create'>>({ method: 'POST', path: '/v1/keys', body: fields }),
    list: (query: Query<'keys.list'> = {}) => request<Answer<'keys.list'>>({ method: 'GET', path: '/v1/keys', query }),
    get: (id: string) => request<Answer<'keys.get'>>({ method: 'GET', path: `/v1/keys/${seg(id)}` }),
    update: (id: string, fields: Body<'keys.update'>) => request<Answer<'keys.update'>>({ method: 'PATCH', path: `/v1/keys/${seg(id)}`, body: fields }),
    revoke: (id: string) => request<Answer<'keys.revoke'>>({ method: 'POST', path: `/v1/keys/${seg(id)}/revoke`, idempotent: true }),
    /** A new secret with the same settings; the old one keeps working `expiresInSeconds` (default 0). */
    roll: (id: string, fields: Body<'keys.roll'> = {}) => request<Answer<'keys.roll'>>({ method: 'POST', path: `/v1/keys/${seg(id)}/roll`, body: fields }),
    usage: (id: string, query: Query<'keys.usage'> = {}) => request<Answer<'keys.usage'>>({ method: 'GET', path: `/v1/keys/${seg(id)}/usage`, query }),
  }
}

export function usage(request: Requester) {
  return {
    get: (query: Query<'usage.get'> = {}) => request<Answer<'usage.get'>>({ method: 'GET', path: '/v1/usage', query }),
  }
}

export function conversations(request: Requester) {
  const path = (id: string) => `/v1/conversations/${seg(id)}`
  return {
    /** A direct conversation is unique per pair: creating it again answers the existing one. */
    create: (fields: Body<'conversations.create'>) =>
      request<Answer<'conversations.create'>>({ method: 'POST', path: '/v1/conversations', body: fields, idempotent: fields.type === 'direct' || fields.id !== undefined }),
    list: (query: Query<'conversations.list'> = {}) => request<Answer<'conversations.list'>>({ method: 'GET', path: '/v1/conversations', query }),
    get: (id: string) => request<Answer<'conversations.get'>>({ method: 'GET', path: path(id) }),
    update: (id: string, fields: Body<'conversations.update'>) => request<Answer<'conversations.update'>>({ method: 'PATCH', path: path(id), body: fields }),
    delete: (id: string) => request<void>({ method: 'DELETE', path: path(id) }),
    addMembers: (id: string, userIds: string[]) =>
      request<Answer<'conversations.addMembers'>>({ method: 'POST', path: `${path(id)}/members`, body: { userIds }, idempotent: true }),
    removeMember: (id: string, userId: string) => request<void>({ method: 'DELETE', path: `${path(id)}/members/${seg(userId)}` }),
  }
}

export function messages(request: Requester) {
  const path = (conversationId: string) => `/v1/conversations/${seg(conversationId)}/messages`
  return {
    /** With a `clientMessageId` a retry returns the original message, so only then is it retried after a 5xx. */
    send: (conversationId: string, fields: Body<'conversations.messages.send'>) =>
      request<Answer<'conversations.messages.send'>>({ method: 'POST', path: path(conversationId), body: fields, idempotent: fields.clientMessageId !== undefined }),
    /** `{ data, hasMore }`, data in ascending seq. */
    list: (conversationId: string, query: Query<'conversations.messages.list'> = {}) =>
      request<Answer<'conversations.messages.list'>>({ method: 'GET', path: path(conversationId), query }),
    edit: (conversationId: string, messageId: string, fields: Body<'conversations.messages.edit'>) =>
      request<Answer<'conversations.messages.edit'>>({ method: 'PATCH', path: `${path(conversationId)}/${seg(messageId)}`, body: fields, idempotent: true }),
    delete: (conversationId: string, messageId: string) => request<void>({ method: 'DELETE', path: `${path(conversationId)}/${seg(messageId)}` }),
  }
}

export function webhooks(request: Requester) {
  const path = (id: string) => `/v1/webhooks/${seg(id)}`
  return {
    /** A new endpoint with its `secret` (`whsec_…`), shown this once. */
    create: (fields: Body<'webhooks.create'>) => request<Answer<'webhooks.create'>>({ method: 'POST', path: '/v1/webhooks', body: fields }),
    list: (query: Query<'webhooks.list'> = {}) => request<Answer<'webhooks.list'>>({ method: 'GET', path: '/v1/webhooks', query }),
    get: (id: string) => request<Answer<'webhooks.get'>>({ method: 'GET', path: path(id) }),
    update: (id: string, fields: Body<'webhooks.update'>) => request<Answer<'webhooks.update'>>({ method: 'PATCH', path: path(id), body: fields }),
    delete: (id: string) => request<void>({ method: 'DELETE', path: path(id) }),
    /** Sends a `webhook.test` event to the endpoint: `{ eventId }`. */
    test: (id: string) => request<Answer<'webhooks.test'>>({ method: 'POST', path: `${path(id)}/test` }),
    /** A new secret; during `overlapSeconds` (default a day) deliveries carry both signatures. */
    rotateSecret: (id: string, fields: Body<'webhooks.rotateSecret'> = {}) =>
      request<Answer<'webhooks.rotateSecret'>>({ method: 'POST', path: `${path(id)}/rotate-secret`, body: fields }),
    deliveries: (id: string, query: Query<'webhooks.deliveries.list'> = {}) =>
      request<Answer<'webhooks.deliveries.list'>>({ method: 'GET', path: `${path(id)}/deliveries`, query }),
    retry: (id: string, deliveryId: string) =>
      request<Answer<'webhooks.deliveries.retry'>>({ method: 'POST', path: `${path(id)}/deliveries/${seg(deliveryId)}/retry` }),
    /** Queues again every event of the endpoint that failed since `since` and never succeeded: `{ count }`. */
    recover: (id: string, fields: Body<'webhooks.recover'>) => request<Answer<'webhooks.recover'>>({ method: 'POST', path: `${path(id)}/recover`, body: fields }),
    /** The catalogue of event types: `{ data: [{ type, description }] }`. */
    eventTypes: () => request<Answer<'webhooks.eventTypes'>>({ method: 'GET', path: '/v1/webhooks/event-types' }),
  }
}

/** The settings each push provider takes (PUT /v1/push/providers/{type}). */
export interface PushProviderConfigs {
  apns: Body<'push.providers.setApns'>
  fcm: Body<'push.providers.setFcm'>
  webpush: Body<'push.providers.setWebPush'>
}
export type PushProviderType = keyof PushProviderConfigs

export function push(request: Requester) {
  const devices = (userId: string) => `/v1/users/${seg(userId)}/devices`
  return {
    /**
     * Configures a provider of this environment (replacing its settings): its public settings, never
     * a private key. For `webpush` Parley makes the VAPID key pair: the answer's `publicKey` is the
     * applicationServerKey browsers subscribe with (setting it again keeps the pair).
     */
    setProvider: <T extends PushProviderType>(type: T, config: PushProviderConfigs[T]) =>
      request<Answer<'push.providers.setApns'>>({ method: 'PUT', path: `/v1/push/providers/${seg(type)}`, body: config, idempotent: true }),
    /** The configured providers: `{ data: [{ type, configured, updatedAt, …public settings }] }`. */
    providers: () => request<Answer<'push.providers.list'>>({ method: 'GET', path: '/v1/push/providers' }),
    /** Removes a provider: its devices get nothing until it is set again. */
    deleteProvider: (type: PushProviderType) => request<void>({ method: 'DELETE', path: `/v1/push/providers/${seg(type)}` }),
    devices: {
      /**
       * Registers a user's device (`{ provider, token }`, or `{ provider: 'webpush', subscription }`):
       * `{ device, created }`, created false when the token was already this user's. A token of
       * another user moves to this one. Safe to retry.
       */
      async register(userId: string, device: Body<'users.devices.register'>): Promise<{ device: Answer<'users.devices.register'>; created: boolean }> {
        let created = false
        const registered = await request<Answer<'users.devices.register'>>({ method: 'POST', path: devices(userId), body: device, idempotent: true, onStatus: (status) => (created = status === 201) })
        return { device: registered, created }
      },
      /** The user's devices (at most 25), most recently used first: `{ data }`. */
      list: (userId: string) => request<Answer<'users.devices.list'>>({ method: 'GET', path: devices(userId) }),
      delete: (userId: string, deviceId: string) => request<void>({ method: 'DELETE', path: `${devices(userId)}/${seg(deviceId)}` }),
    },
    /** The push log, latest first: one record per notification (`userId` narrows it to one user). */
    deliveries: (query: Query<'push.deliveries.list'> = {}) => request<Answer<'push.deliveries.list'>>({ method: 'GET', path: '/v1/push/deliveries', query }),
  }
}
