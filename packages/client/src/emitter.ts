/** Listeners by event name. A listener that throws does not stop the others or the client. */
export class Emitter {
  private readonly listeners = new Map<string, Set<(value: any) => void>>()

  on(name: string, listener: (value: any) => void): () => void {
    let set = this.listeners.get(name)
    if (!set) this.listeners.set(name, (set = new Set()))
    set.add(listener)
    return () => this.off(name, listener)
  }

  off(name: string, listener: (value: any) => void): void {
    this.listeners.get(name)?.delete(listener)
  }

  emit(name: string, value: unknown): void {
    for (const listener of [...(this.listeners.get(name) ?? [])]) {
      try {
        listener(value)
      } catch (error) {
        // Reported like any uncaught error of the app (the console, process 'uncaughtException').
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}
