/**
 * What a process has opened and must close: each resource is registered the moment it exists, so
 * a start that fails half-way closes exactly what it opened, and shutdown closes everything in
 * the reverse order of opening (the HTTP server before the storage it writes to).
 */
export class Resources {
  private readonly open: { name: string; close: () => unknown }[] = []
  private closing: Promise<void> | null = null

  constructor(private readonly onCloseError: (error: unknown, name: string) => void) {}

  /** Registers `close` for `resource` and returns the resource, so opening and registering are one line. */
  add<T>(name: string, resource: T, close: (resource: T) => unknown): T {
    if (this.closing) throw new Error(`${name} opened after shutdown began`)
    this.open.push({ name, close: () => close(resource) })
    return resource
  }

  /** Closes every resource, newest first; a failure is reported and the rest still close. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      for (const { name, close } of this.open.reverse()) {
        try {
          await close()
        } catch (error) {
          this.onCloseError(error, name)
        }
      }
    })())
  }
}
