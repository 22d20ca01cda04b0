/** The `parley` command's help texts: `parley help`, and `parley help <command>`. */

export const USAGE = `Usage: parley <command> [options]

Commands:
  start            Run the Parley server in the foreground
  migrate          Apply pending database migrations and exit
  help [command]   Show this help, or a command's

Client commands (talk to a running Parley; need @parley/node installed):
  tenants create|list                          tenants (with the admin key)
  keys create|list|get|revoke|roll|usage       API keys
  users upsert|list|get|delete|revoke-tokens   users
  token create --user ID                       a session token for a user
  webhooks list|create|test|deliveries         webhook endpoints
  tail [--events a,b]                          print live events
  listen --forward-to URL [--events a,b]       forward live events to a local URL, signed
  Credentials: PARLEY_API_URL [http://localhost:8080] and PARLEY_API_KEY, or --api-url / --api-key.
  parley <command> --help shows each one's options; --json prints the API's JSON.

Options:
  -h, --help       Show help (also after a command: parley start --help)
  -v, --version    Print Parley's version

Parley is configured with PARLEY_* environment variables: see "parley help start", and
docs/operations.md for every variable.
`

export const COMMAND_HELP = {
  start: `Usage: parley start

Runs the Parley server in the foreground until SIGTERM or Ctrl-C, applying pending database
migrations first. On the first start with a new database it prints the generated admin key once.
It prints the address it listens on, its URLs and its storage, then logs one line per request
(readable in a terminal, JSON lines otherwise).

Main settings (environment variables, all optional; defaults in brackets):
  PARLEY_PORT           port to listen on [8080]
  PARLEY_HOST           interface to listen on [127.0.0.1]; 0.0.0.0 serves every interface
  PARLEY_PUBLIC_URL     the URL clients reach Parley at [http://localhost:<port>]
  PARLEY_DATABASE_URL   sqlite:<path> [sqlite:./parley-data/parley.db] or postgres://user:password@host/db
  PARLEY_REDIS_URL      redis://host:6379, to run several nodes together [none]
  PARLEY_REDIS_PREFIX   prefix of Parley's Redis channels and keys [parley:]
  PARLEY_ADMIN_KEY      the operator's key, 32+ characters [generated on the first start]
  PARLEY_LOG_LEVEL      fatal, error, warn, info, debug, trace or silent [info]
  PARLEY_LOG_FORMAT     json or pretty [pretty in a terminal, json otherwise]

Every variable: docs/operations.md. Exit codes: 0 stopped cleanly, 1 failed, 2 bad configuration.
`,
  migrate: `Usage: parley migrate

Applies pending database migrations to PARLEY_DATABASE_URL, prints what it applied and exits.
"parley start" migrates by itself; run this to migrate ahead of a deployment.

Exit codes: 0 done, 1 failed, 2 bad configuration.
`,
  help: `Usage: parley help [command]

Shows the list of commands, or one command's help.
`,
} as const

export type CommandName = keyof typeof COMMAND_HELP

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_HELP, name)
}
