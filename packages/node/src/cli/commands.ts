/**
 * The client commands of `parley` (SDK.md "The parley command"): each one call of @parley/node,
 * with its help, its options, and how its answer reads for people (`--json` prints the API's JSON).
 */
import type { Parley } from '../parley.js'
import { UsageError, integer, list } from './args.js'
import { details, table } from './format.js'

export interface Context {
  parley: Parley
  args: string[]
  flags: Record<string, string | true>
}

/** What a command answered: the API's JSON, and its human rendering. */
export interface Output {
  json: unknown
  human: string
}

export interface Command {
  /** The command's help, from its usage line on. */
  help: string
  /** Positional arguments it requires, by name (for the error message). */
  args?: string[]
  valued?: string[]
  switches?: string[]
  run(context: Context): Promise<Output>
}

const KEY_COLUMNS = ['id', 'name', 'type', 'environment', 'display', 'status', 'scopes', 'lastUsedAt']
const USER_COLUMNS = ['id', 'displayName', 'username', 'kind', 'createdAt']
const WEBHOOK_COLUMNS = ['id', 'url', 'events', 'enabled', 'disabledReason']

const page = (answer: { data: object[] }, columns: string[]): Output => ({ json: answer, human: table(answer.data as Record<string, unknown>[], columns) })
const one = (answer: object, fields?: string[]): Output => ({ json: answer, human: details(answer as Record<string, unknown>, fields) })
const text = (value: string | true | undefined) => (typeof value === 'string' ? value : undefined)

function required(context: Context, name: string): string {
  const value = text(context.flags[name])
  if (value === undefined) throw new UsageError(`--${name} is required`)
  return value
}

export const COMMANDS: Record<string, Record<string, Command>> = {
  tenants: {
    create: {
      help: 'parley tenants create --name NAME [--plan free|starter|pro|enterprise]\n\nCreates a tenant (needs the admin key) and prints its live and test secret keys, shown this once.',
      valued: ['name', 'plan'],
      async run(context) {
        const body = { name: required(context, 'name'), ...(text(context.flags.plan) && { plan: text(context.flags.plan) }) }
        const answer = await context.parley.request<{ tenant: Record<string, unknown>; keys: Record<'live' | 'test', { key: string }> }>({ method: 'POST', path: '/v1/admin/tenants', body })
        return {
          json: answer,
          human: details(answer.tenant, ['id', 'name', 'plan']) + `live key  ${answer.keys.live.key}\ntest key  ${answer.keys.test.key}\n(the keys are shown this once: store them now)\n`,
        }
      },
    },
    list: {
      help: 'parley tenants list\n\nLists every tenant (needs the admin key).',
      async run(context) {
        return page(await context.parley.request<{ data: object[] }>({ method: 'GET', path: '/v1/admin/tenants', query: { limit: 200 } }), ['id', 'name', 'plan', 'suspended', 'createdAt'])
      },
    },
  },
  keys: {
    create: {
      help: 'parley keys create --name NAME [--type secret|publishable] [--scopes a,b] [--expires-at ISO-TIME] [--origins https://a,https://b]\n\nCreates a key in the calling key\'s environment and prints its plaintext, shown this once.',
      valued: ['name', 'type', 'scopes', 'expires-at', 'origins'],
      async run({ parley, flags }) {
        const created = await parley.keys.create({
          name: required({ parley, flags, args: [] }, 'name'),
          type: (text(flags.type) ?? 'secret') as 'secret' | 'publishable',
          ...(flags.scopes !== undefined && { scopes: list(flags.scopes) }),
          ...(flags['expires-at'] !== undefined && { expiresAt: text(flags['expires-at']) }),
          ...(flags.origins !== undefined && { allowedOrigins: list(flags.origins) }),
        })
        return { json: created, human: details(created, ['id', 'name', 'type', 'environment', 'scopes', 'expiresAt', 'key']) + '(the key is shown this once: store it now)\n' }
      },
    },
    list: { help: 'parley keys list\n\nLists the keys of the calling key\'s environment (never their secrets).', run: async ({ parley }) => page(await parley.keys.list({ limit: 200 }), KEY_COLUMNS) },
    get: { help: 'parley keys get ID', args: ['ID'], run: async ({ parley, args }) => one(await parley.keys.get(args[0]!)) },
    revoke: { help: 'parley keys revoke ID\n\nRevokes a key: it fails with 401 everywhere within a second.', args: ['ID'], run: async ({ parley, args }) => one(await parley.keys.revoke(args[0]!), KEY_COLUMNS) },
    roll: {
      help: 'parley keys roll ID [--grace SECONDS]\n\nReplaces a key\'s secret and prints the new one, shown this once; the old one keeps working for --grace seconds (default 0).',
      args: ['ID'],
      valued: ['grace'],
      async run({ parley, args, flags }) {
        const grace = integer('grace', flags.grace)
        const rolled = await parley.keys.roll(args[0]!, grace === undefined ? {} : { expiresInSeconds: grace })
        return { json: rolled, human: details(rolled, ['id', 'name', 'type', 'environment', 'key']) + '(the key is shown this once: store it now)\n' }
      },
    },
    usage: {
      help: 'parley keys usage ID [--granularity hour|day]\n\nA key\'s requests over time.',
      args: ['ID'],
      valued: ['granularity'],
      async run({ parley, args, flags }) {
        const granularity = text(flags.granularity)
        if (granularity !== undefined && granularity !== 'hour' && granularity !== 'day') throw new UsageError('--granularity is hour or day')
        const usage = await parley.keys.usage(args[0]!, granularity ? { granularity } : {})
        return { json: usage, human: table(usage.series as Record<string, unknown>[], ['t', 'requests', 'success', 'clientErrors', 'serverErrors', 'rateLimited', 'avgLatencyMs']) }
      },
    },
  },
  users: {
    upsert: {
      help: 'parley users upsert ID [--display-name NAME]\n\nCreates the user, or updates it.',
      args: ['ID'],
      valued: ['display-name'],
      async run({ parley, args, flags }) {
        const displayName = text(flags['display-name'])
        const { user, created } = await parley.users.upsert({ id: args[0]!, ...(displayName !== undefined && { displayName }) })
        return { json: user, human: `${created ? 'Created' : 'Updated'} user ${user.id}\n` + details(user, USER_COLUMNS) }
      },
    },
    list: { help: 'parley users list', run: async ({ parley }) => page(await parley.users.list({ limit: 200 }), USER_COLUMNS) },
    get: { help: 'parley users get ID', args: ['ID'], run: async ({ parley, args }) => one(await parley.users.get(args[0]!)) },
    delete: {
      help: 'parley users delete ID\n\nDeletes the user, revokes its tokens and closes its sockets (its messages remain).',
      args: ['ID'],
      run: async ({ parley, args }) => (await parley.users.delete(args[0]!), { json: { deleted: true, id: args[0] }, human: `Deleted user ${args[0]}\n` }),
    },
    'revoke-tokens': {
      help: 'parley users revoke-tokens ID\n\nEvery session token of the user issued until now stops working.',
      args: ['ID'],
      run: async ({ parley, args }) => (await parley.users.revokeTokens(args[0]!), { json: { revoked: true, id: args[0] }, human: `Revoked the tokens of ${args[0]}\n` }),
    },
  },
  token: {
    create: {
      help: 'parley token create --user ID [--expires-in SECONDS]\n\nMints a session token for a user that was upserted (for testing clients by hand).',
      valued: ['user', 'expires-in'],
      async run(context) {
        const expiresIn = integer('expires-in', context.flags['expires-in'])
        const grant = await context.parley.tokens.create({ userId: required(context, 'user'), ...(expiresIn !== undefined && { expiresIn }) })
        return { json: grant, human: details(grant, ['token', 'expiresAt']) }
      },
    },
  },
  webhooks: {
    list: { help: 'parley webhooks list', run: async ({ parley }) => page(await parley.webhooks.list({ limit: 200 }), WEBHOOK_COLUMNS) },
    create: {
      help: 'parley webhooks create --url URL [--events a,b]\n\nRegisters an endpoint (default events: every one) and prints its signing secret, shown this once.',
      valued: ['url', 'events'],
      async run(context) {
        const endpoint = await context.parley.webhooks.create({ url: required(context, 'url'), events: list(context.flags.events) ?? ['*'] })
        return { json: endpoint, human: details(endpoint, [...WEBHOOK_COLUMNS, 'secret']) + '(the secret is shown this once: store it now)\n' }
      },
    },
    test: {
      help: 'parley webhooks test ID\n\nSends a webhook.test event to the endpoint.',
      args: ['ID'],
      run: async ({ parley, args }) => {
        const answer = await parley.webhooks.test(args[0]!)
        return { json: answer, human: `Queued test event ${answer.eventId}\n` }
      },
    },
    deliveries: {
      help: 'parley webhooks deliveries ID\n\nThe endpoint\'s delivery attempts, newest first.',
      args: ['ID'],
      run: async ({ parley, args }) => page(await parley.webhooks.deliveries(args[0]!, { limit: 200 }), ['id', 'eventType', 'attempt', 'status', 'responseStatus', 'durationMs', 'createdAt']),
    },
  },
}
