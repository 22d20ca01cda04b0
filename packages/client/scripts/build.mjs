// Builds @parley/client: two ESM bundles of the whole client, @parley/protocol included (the
// package has no dependencies), and type declarations that need nothing outside dist/.
//   dist/index.js               readable, for Node and bundlers
//   dist/parley-client.min.js   minified, the `browser` field (its gzipped size is checked by size.mjs)
//   dist/types/                 declarations, with @parley/protocol's copied into dist/types/protocol/
import { execFileSync } from 'node:child_process'
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
rmSync(dist, { recursive: true, force: true })

const common = { entryPoints: [join(root, 'src', 'index.ts')], bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', logLevel: 'warning' }
await build({ ...common, outfile: join(dist, 'index.js') })
await build({ ...common, outfile: join(dist, 'parley-client.min.js'), minify: true, legalComments: 'none' })

const require = createRequire(import.meta.url)
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
const protocolTypes = dirname(require.resolve('@parley/protocol/errors'))
const types = join(dist, 'types')
cpSync(protocolTypes, join(types, 'protocol'), { recursive: true, filter: (file) => !/\.js(\.map)?$/.test(file) })
for (const file of readdirSync(types).filter((name) => name.endsWith('.d.ts'))) {
  const text = readFileSync(join(types, file), 'utf8')
  writeFileSync(join(types, file), text.replace(/'@parley\/protocol\/(\w+)'/g, "'./protocol/$1.js'"))
}
