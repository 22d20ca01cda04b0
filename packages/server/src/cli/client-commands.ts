/**
 * The `parley` client commands (tenants, keys, users, token, webhooks, tail, listen) live in
 * @parley/node, which the server does not depend on (its runtime dependencies stay few): it is an
 * optional peer, loaded only when one of these commands runs, and handed the server's own `ws` for
 * tail and listen. See docs/cli.md.
 */
export const CLIENT_COMMANDS = ['tenants', 'keys', 'users', 'token', 'webhooks', 'tail', 'listen'] as const

export function isClientCommand(name: string): boolean {
  return (CLIENT_COMMANDS as readonly string[]).includes(name)
}

/** The part of `@parley/node/cli` this module uses (typed here: the server builds before @parley/node). */
interface NodeCli {
  run(argv: string[], io: Record<string, unknown>): Promise<number>
}

const NODE_CLI = '@parley/node/cli'

/** Runs a client command with the environment config.ts hands it; resolves to its exit code. */
export async function runClientCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let cli: NodeCli
  try {
    cli = (await import(NODE_CLI)) as NodeCli
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error
    process.stderr.write(`parley: "${argv[0]}" is a client command: install @parley/node beside @parley/server to use it (npm install @parley/node)\n`)
    return 2
  }
  const { WebSocket } = await import('ws')
  // tail and listen run until Ctrl-C and then finish what they were forwarding; the other
  // commands keep Node's default (a signal ends them at once).
  const stopped = new Promise<void>((resolve) => {
    if (argv[0] !== 'tail' && argv[0] !== 'listen') return
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  return cli.run(argv, {
    stdout: (text: string) => process.stdout.write(text),
    stderr: (text: string) => process.stderr.write(text),
    env,
    WebSocket,
    stopped,
  })
}
