// Every YAML example of docs/scenarios.md runs: complete scenarios must pass
// on every variant, `# error: L:C fragment` examples must fail to parse at
// that position (relative to the block), `# not run` fragments must at
// least be valid YAML step lists that parse.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { parseScenario } from '../src/parse.ts'
import { runScenario } from '../src/runner.ts'
import { formatPretty } from '../src/report.ts'
import { ScenarioSyntaxError } from '../src/errors.ts'
import { main as cliMain } from '../src/cli-main.ts'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import { Readable } from 'node:stream'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const doc = readFileSync(path.join(root, 'docs/scenarios.md'), 'utf8')
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map(m => m[1]!)

test('the guide has YAML examples', () => {
  assert.ok(blocks.length >= 6, `${blocks.length} blocks`)
})

blocks.forEach((src, i) => {
  const first = src.split('\n')[0]!
  const err = /^# error: (\d+):(\d+) (.+)$/.exec(first)
  test(`docs/scenarios.md example ${i + 1}`, () => {
    if (err !== null) {
      try {
        parseScenario(src, 'example.yaml', { readFile: () => '' })
        assert.unreachable('expected a syntax error')
      } catch (e) {
        if (!(e instanceof ScenarioSyntaxError)) throw e
        assert.is(`${e.line}:${e.col}`, `${err[1]}:${err[2]}`, e.message)
        assert.ok(e.detail.includes(err[3]!), e.message)
      }
      return
    }
    if (first.startsWith('# not run')) {
      // Fragments may call the groups of scenarios/lib/vfio.yaml.
      const wrapped = `vfio-sim: 1\nname: fragment\ninclude: [lib/vfio.yaml]\nsteps:\n${src.split('\n').map(l => '  ' + l).join('\n')}`
      parseScenario(wrapped, path.join(root, 'scenarios/fragment.yaml'))
      return
    }
    const s = parseScenario(src, path.join(root, 'docs/example.yaml'))
    for (const v of s.variants) {
      const r = runScenario(s, v)
      if (!r.ok) assert.unreachable(formatPretty([{ kind: 'run', run: r }], false))
    }
  })
})

// The `pnpm vfio-sim …` command lines of the guide, through the CLI's main();
// --trace files go to a temporary directory, the REPL reads an empty stdin.
const commands = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap(m => m[1]!.split('\n')).filter(l => l.startsWith('pnpm vfio-sim '))
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vfio-sim-docs-'))

test('the guide shows the CLI commands', () => {
  assert.ok(commands.length >= 5, `${commands.length} commands`)
})

for (const line of commands) {
  test(`docs command: ${line.replace(/\s+#.*$/, '')}`, async () => {
    const args = line.replace(/\s+#.*$/, '').split(/\s+/).slice(2).map(a => (/\.json$/.test(a) && !a.includes('/') ? path.join(tmp, a) : /^scenarios\//.test(a) ? path.join(root, a) : a))
    let out = ''
    const code = await cliMain(args, { stdout: s => { out += s }, stderr: s => { out += s }, isTTY: false, env: {}, stdin: Readable.from([]) })
    assert.is(code, 0, out.slice(-2000))
    if (args[0] === 'run') assert.match(out, /\d+ passed, 0 failed\n$/)
  })
}

test.run()
