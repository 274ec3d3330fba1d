// The vfio-sim CLI through main() with captured output: help on every
// command, exit statuses 0/1/2, the closing line in every format, asm and
// disasm, boards, check, --trace.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { main } from '../src/cli-main.ts'

async function cli(args: string[], isTTY = false): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(args, { stdout: s => { out += s }, stderr: s => { err += s }, isTTY, env: {} })
  return { code, out, err }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'vfio-sim-cli-'))
const pass = path.join(dir, 'pass.yaml')
const failing = path.join(dir, 'fail.yaml')
writeFileSync(pass, `vfio-sim: 1
name: reads driver_override
profile: [rfc-v5, upstream]
steps:
  - sh: cat /sys/bus/platform/devices/2c0a0000.dma/driver_override
    expect: (null)
`)
writeFileSync(failing, `vfio-sim: 1
name: expects the wrong text
steps:
  - sh: cat /sys/bus/platform/devices/2c0a0000.dma/driver_override
    expect: vfio-platform
`)
const lastLine = (s: string): string => s.trimEnd().split('\n').at(-1)!

test('--help everywhere exits 0 and prints a Usage line', async () => {
  for (const args of [['--help'], ['run', '--help'], ['check', '-h'], ['asm', '--help'], ['disasm', '--help'], ['boards', '--help'], ['repl', '--help']]) {
    const r = await cli(args)
    assert.is(r.code, 0, args.join(' '))
    assert.match(r.out, /^Usage: vfio-sim/)
  }
})

test('bad usage exits 2 with a message on stderr', async () => {
  assert.is((await cli([])).code, 2)
  const u = await cli(['frobnicate'])
  assert.is(u.code, 2)
  assert.match(u.err, /unknown command 'frobnicate'/)
  const o = await cli(['run', '--colour', pass])
  assert.is(o.code, 2)
  assert.match(o.err, /Unknown option '--colour'/)
  assert.is((await cli(['run', path.join(dir, 'nope.yaml')])).code, 2)
})

test('run: TAP off a terminal, exit 0, closing line', async () => {
  const r = await cli(['run', pass])
  assert.is(r.code, 0)
  assert.match(r.out, /^TAP version 13\n1\.\.2\nok 1 - /)
  assert.is(lastLine(r.out), '2 passed, 0 failed')
})

test('run: a failed expectation exits 1 and shows expected vs actual', async () => {
  const r = await cli(['run', failing, pass])
  assert.is(r.code, 1)
  assert.match(r.out, /not ok 1 - /)
  assert.match(r.out, /expected: "\\"vfio-platform\\""/)
  assert.match(r.out, /actual: "\\"\(null\)\\""/)
  assert.match(r.out, new RegExp(`at: "${failing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5:13"`))
  assert.is(lastLine(r.out), '2 passed, 1 failed')
})

test('run: pretty on a terminal, JSON on request, both with the closing line', async () => {
  const p = await cli(['run', '--no-color', pass], true)
  assert.match(p.out, /✓ reads driver_override \[fvp-mmu400 rfc-v5\]/)
  assert.is(lastLine(p.out), '2 passed, 0 failed')
  const j = await cli(['run', '--json', failing])
  assert.is(j.code, 1)
  const body = j.out.slice(0, j.out.lastIndexOf('\n', j.out.length - 2))
  const doc = JSON.parse(body) as { passed: number; failed: number; runs: { ok: boolean; failure: { message: string } }[] }
  assert.is(doc.failed, 1)
  assert.is(doc.runs[0]!.failure.message, 'value differs')
  assert.is(lastLine(j.out), '0 passed, 1 failed')
})

test('run --trace writes Chrome Trace Event JSON; --narrate tells the steps', async () => {
  const out = path.join(dir, 'trace.json')
  const r = await cli(['run', '--trace', out, '--narrate', failing])
  assert.is(r.code, 1)
  const doc = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: unknown[] }
  assert.ok(doc.traceEvents.length > 0)
  assert.match(r.err, /# step 1: sh: cat/)
  assert.match(r.out, /^TAP version 13\n/)
})

test('check: valid files exit 0, malformed exit 2 with file:line:col', async () => {
  const ok = await cli(['check', pass])
  assert.is(ok.code, 0)
  assert.match(ok.out, /1 valid, 0 malformed/)
  const bad = path.join(dir, 'bad.yaml')
  writeFileSync(bad, 'vfio-sim: 1\nname: x\nsteps:\n  - sh: ls /\n    expct: x\n')
  const r = await cli(['check', bad])
  assert.is(r.code, 2)
  assert.ok(r.out.includes(`${bad}:5:5: unknown key 'expct' in a 'sh' step (did you mean expect?)`), r.out)
})

test('asm and disasm: round trip, and assembler errors as file:line:col with exit 2', async () => {
  const src = path.join(dir, 'prog.s')
  writeFileSync(src, 'DMAMOV SAR, 0x80001000\nDMAMOV DAR, 0x80002000\nDMAEND\n')
  const bin = path.join(dir, 'prog.bin')
  assert.is((await cli(['asm', src, '-o', bin])).code, 0)
  const bytes = readFileSync(bin)
  assert.equal([...bytes.subarray(0, 6)], [0xbc, 0x00, 0x00, 0x10, 0x00, 0x80])
  assert.is(bytes.at(-1), 0x00)
  const d = await cli(['disasm', bin])
  assert.is(d.code, 0)
  assert.match(d.out, /DMAMOV SAR, 0x80001000/)
  const h = await cli(['disasm', '--hex', '00'])
  assert.match(h.out, /DMAEND/)
  const listing = await cli(['asm', src])
  assert.match(listing.out, /DMAMOV DAR, 0x80002000/)
  writeFileSync(src, 'DMAMOV SAR, 1\n  DMAWIBBLE\n')
  const e = await cli(['asm', src])
  assert.is(e.code, 2)
  assert.match(e.err, new RegExp(`prog\\.s:2:3: `))
})

test('two runs of the same files print byte-identical TAP and write byte-identical traces', async () => {
  const t1 = path.join(dir, 'a.json')
  const t2 = path.join(dir, 'b.json')
  const a = await cli(['run', '--trace', t1, failing])
  const b = await cli(['run', '--trace', t2, failing])
  assert.is(a.out, b.out)
  assert.is(readFileSync(t1, 'utf8'), readFileSync(t2, 'utf8'))
})

test('boards lists every board and the profiles', async () => {
  const r = await cli(['boards'])
  assert.is(r.code, 0)
  for (const b of ['fvp-mmu400', 'fvp-mmu400-amba', 'fvp-mmu400-shared-group', 'minimal']) assert.match(r.out, new RegExp(`^${b} `, 'm'))
  assert.match(r.out, /profiles: rfc-v5/)
})

test.run()
