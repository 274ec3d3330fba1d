// Every scenario of scenarios/ on each of its variants, one uvu test each,
// so they count in the suite's closing line. A malformed scenario file is a
// failing test naming file:line:col.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { loadFiles } from '../src/files.ts'
import { runScenario } from '../src/runner.ts'
import { formatPretty } from '../src/report.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const set = loadFiles([path.join(root, 'scenarios')])

test('scenarios/ holds scenarios', () => {
  assert.ok(set.scenarios.length >= 1, 'no scenario found')
})

for (const m of set.malformed) {
  test(`${path.relative(root, m.file)} parses`, () => {
    assert.unreachable(m.error.message)
  })
}

for (const s of set.scenarios) {
  for (const v of s.variants) {
    test(`${path.relative(root, s.file)} [${v.board} ${v.profile}]`, () => {
      const r = runScenario(s, v)
      if (!r.ok) assert.unreachable(formatPretty([{ kind: 'run', run: r }], false))
    })
  }
}

test.run()
