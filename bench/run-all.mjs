// Runs every benchmark in turn (`npm run bench`, after `npm run build`). Each prints one JSON line
// with its figures, its targets and whether they were met. The load generator runs here; servers
// are pinned to CPU 0 when taskset exists, so run this pinned to CPU 1: `taskset -c 1 npm run bench`.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
// The PostgreSQL runs come last: PostgreSQL keeps working (checkpoints, autovacuum) for a while
// after a run on the same two cores, which cost a SQLite run that followed it up to 40 %.
const runs = [
  ['auth/run.mjs', '--redis'],
  ['tokens/run.mjs'],
  ['limiter/run.mjs'],
  ['messages/run.mjs'],
  ['fanout/run.mjs', '--sockets', '1000,10000'],
  ['webhooks/run.mjs'],
  ['push/run.mjs'],
  ['messages/run.mjs', '--postgres'],
  ['webhooks/run.mjs', '--postgres'],
  ['fanout/run.mjs', '--sockets', '1000', '--redis'],
]
let failed = false
for (const [script, ...args] of runs) {
  const result = spawnSync(process.execPath, [join(here, script), ...args], { stdio: 'inherit' })
  failed ||= result.status !== 0
}
process.exit(failed ? 1 : 0)
