/**
 * The API key scopes (API.md §1.4), `resource:action`. The server checks them and the dashboard
 * offers them when creating a key: both read the list here, so a new scope is added once.
 */
export const SCOPES = [
  'users:read',
  'users:write',
  'tokens:write',
  'conversations:read',
  'conversations:write',
  'messages:read',
  'messages:write',
  'messages:delete',
  'webhooks:read',
  'webhooks:write',
  'keys:read',
  'keys:write',
  'usage:read',
  'events:read',
  'push:read',
  'push:write',
] as const

export type Scope = (typeof SCOPES)[number]
