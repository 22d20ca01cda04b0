/**
 * The `parley` command: `parley start` runs the server in the foreground, `parley migrate`
 * applies migrations and exits.
 */
import { createParley } from './app.js'
import { ConfigError, type Config, loadConfig } from './config.js'
import { openStore } from './storage/database.js'
import { migrate } from './storage/migrate.js'

const USAGE = `Usage: parley <command>

Commands:
  start     Run the Parley server in the foreground (configuration: PARLEY_* variables)
  migrate   Apply database migrations and exit
`

export async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'start'
  if (command === 'help' || command === '--help' || command === '-h') return void process.stdout.write(USAGE)
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
  if (command === 'migrate') return runMigrate(config)
  if (command === 'start') return runStart(config)
  process.stderr.write(`Unknown command "${command}"\n\n${USAGE}`)
  process.exit(2)
}

async function runMigrate(config: Readonly<Config>): Promise<void> {
  const store = await openStore(config.storage)
  try {
    const applied = await migrate(store)
    process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Already up to date\n')
  } finally {
    await store.close()
  }
}

async function runStart(config: Readonly<Config>): Promise<void> {
  const parley = await createParley(config)
  try {
    await parley.app.listen({ port: config.port, host: config.host })
  } catch (error) {
    // The key is stored hashed already: this is its only chance to be seen.
    if (parley.adminKey.generated) process.stderr.write(`Admin key generated for this database: ${parley.adminKey.generated}\n`)
    await parley.close()
    throw error
  }
  const address = parley.app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const local = `http://${config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host}:${port}`
  const lines = [
    '',
    `Parley is running on ${local}`,
    `  API reference   ${local}/docs`,
    `  OpenAPI         ${local}/openapi.json`,
    `  Health          ${local}/readyz`,
    `  Storage         ${config.storage.kind === 'sqlite' ? `sqlite:${config.storage.path}` : 'postgres'}`,
  ]
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
