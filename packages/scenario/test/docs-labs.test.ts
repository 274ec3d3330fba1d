// The user guide (docs/guide.md), the docs index and the workshop labs
// (docs/labs/*.md with their docs/labs/NN-name.yaml scenarios) are executed
// here, the way docs.test.ts executes docs/scenarios.md, so they cannot rot:
// - every lab scenario runs on every variant, one uvu test each;
// - every YAML block of the pages runs (a complete scenario must pass on
//   every variant; a block whose first line is `# not run` must parse as a
//   step list that may call the groups of scenarios/lib/vfio.yaml);
// - every `pnpm vfio-sim …` line of an ```sh block goes through the CLI's
//   main() and must exit 0;
// - each lab page has its sections and names its scenario file.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import os from 'node:os'
import { Readable } from 'node:stream'
import { parseScenario } from '../src/parse.ts'
import { runScenario } from '../src/runner.ts'
import { formatPretty } from '../src/report.ts'
import { main as cliMain } from '../src/cli-main.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const labsDir = path.join(root, 'docs/labs')
const labPages = readdirSync(labsDir).filter(f => /^\d\d-.*\.md$/.test(f)).sort()
const labScenarios = readdirSync(labsDir).filter(f => /^\d\d-.*\.yaml$/.test(f)).sort()
const pages = ['docs/README.md', 'docs/guide.md', ...labPages.map(f => `docs/labs/${f}`)]

test('there are 4 to 6 labs, each page with its scenario', () => {
  assert.ok(labPages.length >= 4 && labPages.length <= 6, `${labPages.length} lab pages`)
  assert.equal(labScenarios.map(f => f.replace(/\.yaml$/, '')), labPages.map(f => f.replace(/\.md$/, '')))
})

// A lab page: a goal, the background, what to run and look for, an exercise
// and its answer; it names its own scenario file in the run command.
for (const page of labPages) {
  test(`${page} has the sections of a lab`, () => {
    const text = readFileSync(path.join(labsDir, page), 'utf8')
    for (const h of ['## Goal', '## Background', '## Run it', '## What to look for', '## Exercise', '## Answer']) assert.ok(text.includes(`\n${h}`), `${page}: missing '${h}'`)
    assert.ok(text.includes(`pnpm vfio-sim run --narrate docs/labs/${page.replace(/\.md$/, '.yaml')}`), `${page}: no run command for its scenario`)
  })
}

// One test per lab scenario × variant: they count in the closing line.
for (const file of labScenarios) {
  const full = path.join(labsDir, file)
  const s = parseScenario(readFileSync(full, 'utf8'), full)
  for (const v of s.variants) {
    test(`docs/labs/${file} [${v.board} ${v.profile}]`, () => {
      const r = runScenario(s, v)
      if (!r.ok) assert.unreachable(formatPretty([{ kind: 'run', run: r }], false))
    })
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vfio-sim-docs-labs-'))

for (const page of pages) {
  const full = path.join(root, page)
  test(`${page} exists`, () => {
    assert.ok(existsSync(full), page)
  })
  if (!existsSync(full)) continue
  const text = readFileSync(full, 'utf8')
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map(m => m[1]!)
  blocks.forEach((src, i) => {
    test(`${page} YAML block ${i + 1}`, () => {
      if (src.startsWith('# not run')) {
        const wrapped = `vfio-sim: 1\nname: fragment\ninclude: [lib/vfio.yaml]\nsteps:\n${src.split('\n').map(l => '  ' + l).join('\n')}`
        parseScenario(wrapped, path.join(root, 'scenarios/fragment.yaml'))
        return
      }
      // Complete scenarios resolve includes from the page's own directory.
      const s = parseScenario(src, path.join(path.dirname(full), 'example.yaml'))
      for (const v of s.variants) {
        const r = runScenario(s, v)
        if (!r.ok) assert.unreachable(formatPretty([{ kind: 'run', run: r }], false))
      }
    })
  })
  const commands = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap(m => m[1]!.split('\n')).filter(l => l.startsWith('pnpm vfio-sim '))
  for (const line of commands) {
    const cmd = line.replace(/\s+#.*$/, '')
    test(`${page} command: ${cmd}`, async () => {
      const args = cmd.split(/\s+/).slice(2).map(a => (/\.json$/.test(a) && !a.includes('/') ? path.join(tmp, a) : /^(scenarios|docs)\//.test(a) ? path.join(root, a) : a))
      let out = ''
      const code = await cliMain(args, { stdout: s => { out += s }, stderr: s => { out += s }, isTTY: false, env: {}, stdin: Readable.from([]) })
      assert.is(code, 0, out.slice(-2000))
      if (args[0] === 'run') assert.match(out, /\d+ passed, 0 failed\n$/)
    })
  }
}

test.run()
