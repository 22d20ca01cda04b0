/**
 * The `parley` command: `parley start` runs the server in the foreground, `parley migrate`
 * applies migrations and exits, `parley help [command]` and `parley --version` inform. Without a
 * command it shows the help: starting a server must be asked for. The client commands (keys,
 * users, tail, …) are @parley/node's, run by cli/client-commands.ts.
 */
import type { AddressInfo } from 'node:net'
import type { Parley } from './app.js'
import { COMMAND_HELP, type CommandName, USAGE, isCommand } from './cli-help.js'
import { isClientCommand } from './cli/client-commands.js'
import { ConfigError, type Config, clientCommandEnv, loadConfig } from './config.js'
import { displayUrl } from './lib/display-url.js'
import { PACKAGE_VERSION } from './lib/package-version.js'
import { UnsafeFileError } from './lib/private-files.js'

const HELP_FLAGS = ['--help', '-h']

/** Bad usage (SDK.md: exit code 2): say what was wrong, then how to get it right. */
function usageError(problem: string, help: string): void {
  process.stderr.write(`parley: ${problem}\n\n${help}`)
  process.exitCode = 2
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (command === undefined) return usageError('no command given (to run the server: parley start)', USAGE)
  if (command === '--version' || command === '-v') return void process.stdout.write(`${PACKAGE_VERSION}\n`)
  if (HELP_FLAGS.includes(command)) return void process.stdout.write(USAGE)
  if (isClientCommand(command)) return runClient(argv)
  if (command === 'help' && rest.length === 1 && isClientCommand(rest[0]!)) return runClient([rest[0]!, '--help'])
  if (!isCommand(command)) return usageError(`unknown command "${command}"`, USAGE)
  if (rest.some((arg) => HELP_FLAGS.includes(arg))) return void process.stdout.write(COMMAND_HELP[command])
  if (command === 'help') return help(rest)
  if (rest.length > 0) return usageError(`${command} takes no arguments (got "${rest[0]}")`, COMMAND_HELP[command])
  let config: Readonly<Config>
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(2)
    }
    throw error
  }
  return command === 'migrate' ? runMigrate(config) : runStart(config)
}

async function runClient(argv: string[]): Promise<void> {
  const { runClientCommand } = await import('./cli/client-commands.js')
  process.exitCode = await runClientCommand(argv, clientCommandEnv())
}

function help(args: string[]): void {
  if (args.length === 0) return void process.stdout.write(USAGE)
  const [topic] = args
  if (args.length > 1 || !isCommand(topic!)) return usageError(`no help for "${args.join(' ')}": not a command`, USAGE)
  process.stdout.write(COMMAND_HELP[topic as CommandName])
}

// The server's modules load only for the commands that need them, so help and --version answer at once.
async function runMigrate(config: Readonly<Config>): Promise<void> {
  const { openStore } = await import('./storage/database.js')
  const { migrate } = await import('./storage/migrate.js')
  const store = await openStore(config.storage)
  try {
    const applied = await migrate(store)
    process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Already up to date\n')
  } finally {
    await store.close()
  }
}

async function runStart(config: Readonly<Config>): Promise<void> {
  const { createParley } = await import('./app.js')
  let parley: Parley
  try {
    parley = await createParley(config)
  } catch (error) {
    // createParley has closed whatever it had opened; say why in one line, like a config error.
    process.stderr.write(`Parley could not start: ${error instanceof Error ? error.message : String(error)}\n`)
    // Exit code 2, as for configuration: the operator's to fix (an unsafe signing.kek, say).
    process.exit(error instanceof ConfigError || error instanceof UnsafeFileError ? 2 : 1)
  }
  try {
    await parley.app.listen({ port: config.port, host: config.host })
  } catch (error) {
    // The key is stored hashed already: this is its only chance to be seen.
    if (parley.adminKey.generated) process.stderr.write(`Admin key generated for this database: ${parley.adminKey.generated}\n`)
    await parley.close()
    throw error
  }
  const lines = banner(config, parley.app.server.address() as AddressInfo)
  if (parley.adminKey.generated) {
    lines.push('', `  Admin key (shown once, store it now): ${parley.adminKey.generated}`)
  }
  // Printed directly, not through the logger: the logger redacts keys, and this is the one time
  // the operator may see the generated admin key.
  process.stdout.write(`${lines.join('\n')}\n\n`)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    parley.logger.info({ signal }, 'shutting down')
    parley
      .close()
      .then(() => process.exit(0))
      .catch((error) => {
        parley.logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

/** What an operator needs to see at start: where to reach it and what it stores into, without secrets. */
function banner(config: Readonly<Config>, listening: AddressInfo): string[] {
  const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host)
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : bracket(config.host)
  const local = `http://${host}:${listening.port}`
  const storage = config.storage.kind === 'sqlite' ? `sqlite:${config.storage.path}` : displayUrl(config.storage.url)
  const lines = [
    '',
    `Parley ${PACKAGE_VERSION} is running on ${local}`,
    `  Listening       ${bracket(listening.address)}:${listening.port}`,
    `  Dashboard       ${local}/dashboard`,
    `  API reference   ${local}/docs`,
    `  OpenAPI         ${local}/openapi.json`,
    `  Health          ${local}/readyz`,
    `  Storage         ${storage}`,
  ]
  if (config.redisUrl) lines.push(`  Redis           ${displayUrl(config.redisUrl)} (prefix ${config.redisPrefix})`)
  return lines
}
