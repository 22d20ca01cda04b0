/** The command line of a client command: positional arguments and `--flag value` / `--flag=value` / `--switch`. */

export class UsageError extends Error {
  override name = 'UsageError'
}

export interface Parsed {
  positionals: string[]
  flags: Record<string, string | true>
}

/** `valued` flags take a value; `switches` take none; anything else is a usage error. */
export function parseArgs(argv: string[], valued: readonly string[], switches: readonly string[]): Parsed {
  const positionals: string[] = []
  const flags: Record<string, string | true> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg)
      continue
    }
    const [name, inline] = splitOnce(arg.slice(2))
    if (switches.includes(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`)
      flags[name] = true
    } else if (valued.includes(name)) {
      const value = inline ?? argv[++i]
      if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`)
      flags[name] = value
    } else {
      throw new UsageError(`unknown option --${name}`)
    }
  }
  return { positionals, flags }
}

function splitOnce(text: string): [string, string | undefined] {
  const at = text.indexOf('=')
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)]
}

/** A comma-separated list flag, without empty items. */
export function list(value: string | true | undefined): string[] | undefined {
  return typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter(Boolean) : undefined
}

/** A whole-number flag. */
export function integer(name: string, value: string | true | undefined): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number of seconds`)
  return Number(value)
}
