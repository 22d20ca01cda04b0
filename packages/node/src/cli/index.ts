/**
 * `parley`'s client commands (SDK.md "The parley command"), run through @parley/node. The server's
 * `parley` binary hands them here; `run` returns the exit code: 0 success, 1 the API answered an
 * error, 2 bad usage or no key, 3 Parley could not be reached.
 */
import { ConnectionError, ParleyError } from '@parley/protocol/errors'
import { Parley } from '../parley.js'
import { UsageError, parseArgs } from './args.js'
import { COMMANDS, type Command } from './commands.js'
import { STREAMS, type StreamIo } from './streams.js'

export interface Io extends StreamIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: Record<string, string | undefined>
}

const GLOBAL_VALUED = ['api-url', 'api-key']
const GLOBAL_SWITCHES = ['json', 'help']
const FOOTER = `\nOptions: --api-url URL, --api-key KEY (default PARLEY_API_URL, PARLEY_API_KEY), --json.\nExit codes: 0 done, 1 the API answered an error, 2 bad usage or no key, 3 Parley could not be reached.\n`

function groupHelp(group: string): string {
  if (group in STREAMS) return `Usage: ${STREAMS[group]!.help}\n${FOOTER}`
  const commands = COMMANDS[group]!
  return `Usage:\n${Object.values(commands).map((command) => `  ${command.help.split('\n')[0]}`).join('\n')}\n\nparley ${group} <command> --help shows a command's help.\n${FOOTER}`
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [group = '', ...rest] = argv
  const usage = (problem: string, help: string) => (io.stderr(`parley: ${problem}\n\n${help}`), 2)
  if (!(group in COMMANDS) && !(group in STREAMS)) return usage(`unknown command "${group}"`, 'parley --help lists the commands.\n')

  let command: Command | (typeof STREAMS)[string]
  let args = rest
  if (group in STREAMS) {
    command = STREAMS[group]!
  } else {
    const [name, ...after] = rest
    if (name === undefined || name === '--help' || name === '-h') {
      if (name === undefined) return usage(`${group} needs a command`, groupHelp(group))
      return io.stdout(groupHelp(group)), 0
    }
    const found = COMMANDS[group]![name]
    if (!found) return usage(`unknown command "${group} ${name}"`, groupHelp(group))
    command = found
    args = after
  }
  const help = `Usage: ${command.help}\n${FOOTER}`
  if (args.includes('--help') || args.includes('-h')) return io.stdout(help), 0

  let parsed
  try {
    parsed = parseArgs(args, [...GLOBAL_VALUED, ...(command.valued ?? [])], [...GLOBAL_SWITCHES, ...(command.switches ?? [])])
    const expected = command.args ?? []
    if (parsed.positionals.length < expected.length) throw new UsageError(`missing ${expected.slice(parsed.positionals.length).join(' ')}`)
    if (parsed.positionals.length > expected.length) throw new UsageError(`unexpected argument "${parsed.positionals[expected.length]}"`)
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message, help)
    throw error
  }
  const { flags, positionals } = parsed
  const apiKey = typeof flags['api-key'] === 'string' ? flags['api-key'] : io.env.PARLEY_API_KEY
  if (!apiKey) return usage('no API key: set PARLEY_API_KEY or pass --api-key (a secret key; the admin key for tenants)', help)
  const apiUrl = (typeof flags['api-url'] === 'string' ? flags['api-url'] : io.env.PARLEY_API_URL) || 'http://localhost:8080'
  const parley = new Parley({ apiKey, apiUrl })

  try {
    if ('stream' in command) return await command.stream({ parley, apiKey, args: positionals, flags }, io)
    const output = await command.run({ parley, args: positionals, flags })
    io.stdout(flags.json ? `${JSON.stringify(output.json, null, 2)}\n` : output.human)
    return 0
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message, help)
    if (!(error instanceof ParleyError)) throw error
    io.stderr(`error: ${error.code}: ${error.detail}${error.requestId ? ` (request ${error.requestId})` : ''}\n`)
    return error instanceof ConnectionError ? 3 : 1
  }
}
