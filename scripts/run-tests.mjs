// The whole test suite: every packages/*/test/**/*.test.ts file (scenario
// files are run by a test file of the scenario package), split into shards
// that run in parallel, one per core. Prints each shard's uvu report, then
// one closing line `N passed, N failed[, N skipped]`, and exits non-zero on
// any failure.
//   node scripts/run-tests.mjs [substring...]   only files whose path contains one
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const filters = process.argv.slice(2)

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'dist') continue
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) walk(full, out)
    else if (name.endsWith('.test.ts')) out.push(full)
  }
  return out
}

const files = []
for (const pkg of readdirSync(path.join(root, 'packages')).sort()) {
  const testDir = path.join(root, 'packages', pkg, 'test')
  try { statSync(testDir) } catch { continue }
  walk(testDir, files)
}
const selected = files.filter(f => filters.length === 0 || filters.some(s => f.includes(s)))

// Balance shards by file size, a rough stand-in for run time.
const shardCount = Math.max(1, Math.min(Number(process.env.TEST_SHARDS ?? os.availableParallelism()), selected.length))
const shards = Array.from({ length: shardCount }, () => ({ files: [], weight: 0 }))
for (const f of [...selected].sort((a, b) => statSync(b).size - statSync(a).size)) {
  const s = shards.reduce((a, b) => (b.weight < a.weight ? b : a))
  s.files.push(f)
  s.weight += statSync(f).size
}

function runShard(shard) {
  return new Promise(resolve => {
    const args = ['--conditions=source', '--import', 'tsx', '--import', path.join(root, 'scripts/test-setup.mjs'),
      path.join(root, 'scripts/uvu-shard.mjs'), ...shard.files.map(f => path.relative(root, f))]
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' } })
    let out = ''
    child.stdout.on('data', d => { out += d })
    child.stderr.on('data', d => { out += d })
    child.on('close', code => resolve({ code: code ?? 1, out }))
  })
}

const results = await Promise.all(shards.filter(s => s.files.length > 0).map(runShard))
let passed = 0, failed = 0, skipped = 0
for (const r of results) {
  process.stdout.write(r.out)
  const plain = r.out.replace(/\x1b\[[0-9;]*m/g, '')
  const total = /Total:\s+(\d+)/.exec(plain)
  const ok = /Passed:\s+(\d+)/.exec(plain)
  const skip = /Skipped:\s+(\d+)/.exec(plain)
  if (!total || !ok) {
    // The shard died before uvu could report (a file failed to load).
    failed += 1
    continue
  }
  passed += Number(ok[1])
  failed += Number(total[1]) - Number(ok[1])
  skipped += skip ? Number(skip[1]) : 0
  if (r.code !== 0 && Number(total[1]) === Number(ok[1])) failed += 1
}
if (selected.length === 0) failed += 1
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed > 0 ? 1 : 0)
