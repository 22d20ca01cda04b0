/**
 * `pg` and `ioredis` are optional peer dependencies: a SQLite-only install does without them.
 * Loading one that is not installed fails start-up with a message that names the package and
 * the setting that asked for it, instead of a module-resolution stack trace.
 */
export async function loadOptionalPackage<T>(name: string, neededFor: string): Promise<T> {
  try {
    return (await import(name)) as T
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`)) {
      throw new Error(`${neededFor} needs the "${name}" package, which is not installed: run npm install ${name}`)
    }
    throw error
  }
}
