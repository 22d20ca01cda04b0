/** Values tests compare against or make up: the API's timestamp format, runs of integers, unique suffixes. */
import { randomBytes } from 'node:crypto'

/** Every timestamp the API returns: ISO 8601 in UTC with milliseconds (API.md, introduction). */
export const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** The integers from `from` to `to`, both included. */
export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Twelve random hex characters, for names that must not collide between runs (Redis prefixes, ids). */
export const uniqueSuffix = (): string => randomBytes(6).toString('hex')
