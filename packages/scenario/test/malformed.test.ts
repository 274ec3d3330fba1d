// The corpus of malformed scenarios: each file's first line says where the
// error is and a fragment of the message (`# error: 7:5 unknown key`, or
// `# error: lib/x.yaml:5:1 …` when the error is in an included file). Each
// must give exit status 2 and exactly that position, through the CLI.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { main } from '../src/cli-main.ts'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'malformed')
const files = readdirSync(dir).filter(f => f.endsWith('.yaml')).sort()

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  const code = await main(args, { stdout: s => { out += s }, stderr: s => { out += s }, isTTY: false, env: {} })
  return { code, out }
}

test('the corpus has at least 20 files', () => {
  assert.ok(files.length >= 20, `only ${files.length}`)
})

for (const f of files) {
  const file = path.join(dir, f)
  const head = readFileSync(file, 'utf8').split('\n')[0]!
  const m = /^# error: (?:([\w./-]+):)?(\d+):(\d+) (.+)$/.exec(head)
  test(`malformed/${f}: exit 2 at the right position (run and check)`, async () => {
    assert.ok(m !== null, `first line must be '# error: LINE:COL fragment', got ${head}`)
    const [, other, line, col, fragment] = m!
    const where = other === undefined ? file : path.join(dir, other)
    for (const cmd of ['run', 'check']) {
      const { code, out } = await cli([cmd, file])
      assert.is(code, 2, `${cmd}: exit status\n${out}`)
      assert.ok(out.includes(`${where}:${line}:${col}: `) || out.includes(`${JSON.stringify(`${where}:${line}:${col}`)}`), `${cmd}: expected position ${where}:${line}:${col} in\n${out}`)
      assert.ok(out.includes(fragment!), `${cmd}: expected '${fragment}' in\n${out}`)
    }
  })
}

test.run()
