#!/usr/bin/env node
// The `parley` command. The TypeScript sources are compiled to dist/ by `npm install` (prepare).
import { main } from '../dist/main.js'

main(process.argv.slice(2)).catch((error) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
