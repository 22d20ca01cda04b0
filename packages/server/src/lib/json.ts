/** JSON columns are text on both engines; these keep the conversion in one place. */
export const toJson = (value: unknown): string | null => (value == null ? null : JSON.stringify(value))

export function fromJson<T>(text: string | null): T | null {
  return text == null ? null : (JSON.parse(text) as T)
}

/**
 * Whether a parsed JSON value nests objects and arrays more than `maxLevels` deep (the value
 * itself is level 1; scalars add none). It walks with its own stack and stops at the first
 * container past the limit, so a body nested 100,000 deep costs `maxLevels` steps down and never
 * the call stack that JSON.stringify would overflow.
 */
export function nestsDeeperThan(value: unknown, maxLevels: number): boolean {
  const pending: Array<{ node: object; level: number }> = isContainer(value) ? [{ node: value, level: 1 }] : []
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.level > maxLevels) return true
    for (const child of Object.values(next.node)) {
      if (isContainer(child)) pending.push({ node: child, level: next.level + 1 })
    }
  }
  return false
}

const isContainer = (value: unknown): value is object => typeof value === 'object' && value !== null
