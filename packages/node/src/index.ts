/** `@parley/node`: Parley for a tenant's backend (SDK.md). */
export { Parley, type ParleyOptions } from './parley.js'
export { verifyWebhook, WebhookVerificationError, type WebhookEvent } from './verify-webhook.js'
export { createSessionHandler, type Session, type SessionHandler, type SessionHandlerOptions, type SessionUser } from './session-handler.js'
export type { Call, Requester } from './request.js'
export * from './types.js'
export {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  ParleyError,
  PermissionError,
  RateLimitError,
  ServerError,
  ValidationError,
  type FieldError,
} from '@parley/protocol/errors'
