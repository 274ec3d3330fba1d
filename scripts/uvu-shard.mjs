// Runs a list of uvu test files in this process, as `uvu` itself does, and
// leaves uvu's own summary (Total / Passed / Skipped) on stdout for
// scripts/run-tests.mjs to add up. Usage: node uvu-shard.mjs FILE...
import { pathToFileURL } from 'node:url'
import path from 'node:path'

globalThis.UVU_DEFER = 1
const uvu = await import('uvu')
let index = 0
for (const file of process.argv.slice(2)) {
  globalThis.UVU_INDEX = index++
  globalThis.UVU_QUEUE.push([path.relative(process.cwd(), file)])
  await import(pathToFileURL(path.resolve(file)).href)
}
await uvu.exec(process.env.UVU_BAIL === '1')
