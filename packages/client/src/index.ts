/**
 * `@parley/client`: Parley for browsers and Node ≥ 20, with no dependencies.
 *
 * @example
 * import { Parley, RateLimitError } from '@parley/client'
 */
export { Parley } from './parley.js'
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
} from '@parley/protocol/errors'
export type { FieldError } from '@parley/protocol/errors'
export type * from './types.js'
