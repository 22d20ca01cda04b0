/**
 * Values that are ready now or later. The credential checks return a plain value when every
 * lookup hits memory, so the common request costs no promise, and a Promise only on a cache miss.
 */
export type MaybePromise<T> = T | Promise<T>

// Named andThen, not then: a module exporting `then` would itself be a thenable when imported.
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value)
}
