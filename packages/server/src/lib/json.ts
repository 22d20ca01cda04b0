/** JSON columns are text on both engines; these keep the conversion in one place. */
export const toJson = (value: unknown): string | null => (value == null ? null : JSON.stringify(value))

export function fromJson<T>(text: string | null): T | null {
  return text == null ? null : (JSON.parse(text) as T)
}
