/** `@parley/protocol`: what Parley's server and its SDKs must agree on, defined once. */
export * from './errors.js'
export * from './realtime.js'
export * from './scopes.js'
