// The size budget of the browser bundle (SDK.md, BENCHMARKS.md B11): the file named by the
// `browser` field, gzipped at level 9, must stay within 10,240 bytes. Run after the build
// (`npm run size`, part of `npm test`); prints one JSON line and exits 1 over budget.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const BUDGET_BYTES = 10_240
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { browser } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const code = readFileSync(join(root, browser))
const gzipped = gzipSync(code, { level: 9 }).length
const withinBudget = gzipped <= BUDGET_BYTES
console.log(JSON.stringify({ benchmark: 'B11 client bundle', file: browser, minifiedBytes: code.length, gzippedBytes: gzipped, budgetBytes: BUDGET_BYTES, withinBudget }))
if (!withinBudget) {
  console.error(`${browser} is ${gzipped} bytes gzipped, over the budget of ${BUDGET_BYTES}`)
  process.exit(1)
}
