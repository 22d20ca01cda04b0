// The size budget of the dashboard (DASHBOARD.md): the first load of /dashboard may bring at most
// 300 KB of JavaScript, gzipped. Counts every script index.html loads or preloads and every
// module those import statically, gzipped at level 9. Run after the build (`npm run size`, part of
// `npm test`); prints one JSON line and exits 1 over budget (or when dist/ is missing).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const BUDGET_BYTES = 300 * 1024
const BASE = '/dashboard/'
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const indexFile = join(dist, 'index.html')
if (!existsSync(indexFile)) {
  console.error(`${indexFile} is missing: run npm run build --workspace @parley/dashboard`)
  process.exit(1)
}

const html = readFileSync(indexFile, 'utf8')
const entries = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"|<link\b[^>]*\brel="modulepreload"[^>]*\bhref="([^"]+)"/g)].map((match) => match[1] ?? match[2])
const seen = new Set()
const queue = entries.map((url) => fileOf(url))
let minified = 0
let gzipped = 0
while (queue.length) {
  const file = queue.shift()
  if (seen.has(file)) continue
  seen.add(file)
  const code = readFileSync(file)
  minified += code.length
  gzipped += gzipSync(code, { level: 9 }).length
  // Static imports of other chunks (`import … from "./x.js"`, `import "./x.js"`); dynamic imports load later.
  for (const match of code.toString('utf8').matchAll(/\bimport\s*(?:[\w*{}\s,$]+from\s*)?["'](\.{1,2}\/[^"']+\.js)["']/g)) {
    queue.push(join(dirname(file), match[1]))
  }
}

function fileOf(url) {
  if (!url.startsWith(BASE)) throw new Error(`index.html loads ${url}, outside ${BASE} (no CDN: the dashboard must work offline)`)
  return join(dist, url.slice(BASE.length))
}

const withinBudget = gzipped <= BUDGET_BYTES
console.log(JSON.stringify({ benchmark: 'dashboard first load', files: [...seen].map((file) => file.slice(dist.length + 1)), minifiedBytes: minified, gzippedBytes: gzipped, budgetBytes: BUDGET_BYTES, withinBudget }))
if (!withinBudget) {
  console.error(`The first load of /dashboard is ${gzipped} bytes of JavaScript gzipped, over the budget of ${BUDGET_BYTES}`)
  process.exit(1)
}
