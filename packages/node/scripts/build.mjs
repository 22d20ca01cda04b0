// Builds @parley/node: one ESM bundle with @parley/protocol inside (the package has no
// dependencies), and declarations that need nothing outside dist/ (@parley/protocol's, the REST
// types generated from the OpenAPI document among them, copied into dist/types/protocol/), as packages/client does.
import { execFileSync } from 'node:child_process'
import { cpSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
rmSync(dist, { recursive: true, force: true })

// Two entries sharing chunks: the SDK (dist/index.js) and the `parley` client commands (dist/cli.js).
await build({
  entryPoints: { index: join(root, 'src', 'index.ts'), cli: join(root, 'src', 'cli', 'index.ts') },
  outdir: dist,
  splitting: true,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
})

const require = createRequire(import.meta.url)
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
const protocolTypes = dirname(require.resolve('@parley/protocol/errors'))
const types = join(dist, 'types')
cpSync(protocolTypes, join(types, 'protocol'), { recursive: true, filter: (file) => statSync(file).isDirectory() || file.endsWith('.d.ts') })
for (const [dir, up] of [[types, './'], [join(types, 'cli'), '../']]) {
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.d.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8')
    writeFileSync(join(dir, file), text.replace(/'@parley\/protocol\/(\w+)'/g, `'${up}protocol/$1.js'`))
  }
}
