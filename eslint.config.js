import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/**
 * The server's folders and what each may import (besides itself). Imports point one way, from the
 * composition root (app.ts, main.ts, config.ts) down to the shared vocabulary in core/, so there
 * are no folder cycles. A new folder must be added here; an import outside its list fails `npm run lint`.
 */
const BASE = ['core', 'lib']
const INFRA = [...BASE, 'storage', 'auth', 'limits', 'cluster', 'events', 'metrics', 'http']
export const SERVER_LAYERS = {
  core: [],
  lib: ['core'],
  storage: BASE,
  auth: [...BASE, 'storage'],
  limits: BASE,
  cluster: BASE,
  events: [...BASE, 'storage'],
  metrics: BASE,
  http: [...BASE, 'storage', 'auth', 'limits', 'metrics'],
  // Domains, each after the domains it builds on.
  users: INFRA,
  keys: INFRA,
  tenants: [...INFRA, 'keys'],
  conversations: [...INFRA, 'users'],
  messages: [...INFRA, 'users', 'conversations'],
  identity: [...INFRA, 'users', 'keys'],
  tokens: [...INFRA, 'users', 'keys'],
  usage: [...INFRA, 'keys'],
  alerts: [...INFRA, 'keys', 'usage'],
  // Leaked-key reports: revoked through keys, recorded as alerts.
  leaks: [...INFRA, 'keys', 'alerts'],
  me: INFRA,
  system: INFRA,
  // The web console: its sign-in routes and its built files.
  dashboard: INFRA,
  // Outbound delivery (the queue webhooks and push share), and webhooks on it.
  delivery: [...BASE, 'storage'],
  webhooks: [...INFRA, 'delivery'],
  // Push notifications: the queue, and who is in a conversation and what was said.
  push: [...INFRA, 'delivery', 'users', 'conversations', 'messages'],
  // Edges: delivery to sockets and the generated reference.
  realtime: [...INFRA, 'users', 'keys', 'conversations', 'messages'],
  openapi: [...INFRA, 'messages'],
}
// The composition root's steps (src/app/) wire everything together.
SERVER_LAYERS.app = Object.keys(SERVER_LAYERS)

const layerRules = Object.entries(SERVER_LAYERS).filter(([folder]) => folder !== 'app').map(([folder, allowed]) => {
  const forbidden = Object.keys(SERVER_LAYERS).filter((other) => other !== folder && !allowed.includes(other))
  return {
    files: [`packages/server/src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          {
            group: forbidden.flatMap((other) => [`../${other}/*`, `../../${other}/*`]),
            message: `${folder}/ may import only ${allowed.join(', ') || 'nothing outside itself'} (see SERVER_LAYERS in eslint.config.js).`,
          },
          { group: ['app', 'main', 'config'].flatMap((root) => [`../${root}.js`, `../../${root}.js`]), message: 'Only the composition root imports app.ts, main.ts and config.ts.' },
        ],
      }],
    },
  }
})

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'parley-data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', performance: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': 'off',
    },
  },
  {
    files: ['packages/server/src/**/*.ts'],
    ignores: ['packages/server/src/config.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Read configuration in config.ts only.' }],
    },
  },
  ...layerRules,
)
