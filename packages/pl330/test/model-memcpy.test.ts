// The example programs of the spec (§8.4, Linux `_setup_req` output) run on
// the identity port and copy the right bytes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Pl330Rig } from '../src/model/harness.ts'

const hex = (s: string): number[] => s.trim().split(/\s+/).map(b => parseInt(b, 16))

function pattern(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len)
  let x = seed >>> 0
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

function runCopy(program: number[], src: number, dst: number, len: number, progAddr = 0x80f00000) {
  const rig = new Pl330Rig()
  const data = pattern(len, len)
  rig.load(src, data)
  rig.load(progAddr, program)
  rig.writel(0x020, 1) // INTEN bit 0: DMASEV 0 raises irq[0]
  rig.go(0, progAddr)
  assert.is(rig.readl(0x100) & 15, 1, 'channel 0 Executing after DMAGO')
  rig.run()
  const got = rig.sys.memory.slice(dst, len)
  assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'destination bytes equal the source')
  // One byte past the end is untouched.
  assert.is(rig.sys.memory.read8(dst + len), 0)
  return rig
}

test('4 KiB memcpy (27 bytes of microcode)', () => {
  const prog = hex('bc 01 f7 c0 3d 00 bc 00 00 00 00 80 bc 02 00 00 10 80 22 1f 04 08 3c 02 34 00 00')
  const rig = runCopy(prog, 0x80000000, 0x80100000, 4096)
  assert.is(rig.readl(0x100) & 15, 0, 'Stopped after DMAEND')
  assert.is(rig.readl(0x400), 0x80001000, 'SAR')
  assert.is(rig.readl(0x404), 0x80101000, 'DAR')
  assert.is(rig.readl(0x410), 0, 'LC1')
  assert.is(rig.readl(0x104), 0x80f00000 + 0x1a, 'CPC on the DMAEND')
  assert.is(rig.readl(0x024), 1, 'INT_EVENT_RIS bit 0')
  assert.is(rig.readl(0x028), 1, 'INTMIS bit 0')
  assert.ok(rig.sys.irqc.isPending(65), 'irq[0] high')
  rig.writel(0x02c, 1)
  assert.is(rig.readl(0x028), 0, 'INTCLR clears it')
  assert.not.ok(rig.sys.irqc.isPending(65), 'irq[0] low')
  assert.ok(rig.sys.scheduler.now > 0, 'virtual time advanced')
})

test('4136-byte memcpy: 4096 + 40-byte tail with CCR 0x0011C047', () => {
  const prog = hex('bc 01 f7 c0 3d 00 bc 00 00 00 00 80 bc 02 00 00 10 80 22 1f 04 08 3c 02 bc 01 47 c0 11 00 04 08 34 00 00')
  const rig = runCopy(prog, 0x80000000, 0x80100000, 4136)
  assert.is(rig.readl(0x400), 0x80001028)
  assert.is(rig.readl(0x408), 0x0011c047)
})

test('1 MiB memcpy with nested loops', () => {
  const prog = hex('bc 01 f7 c0 3d 00 bc 00 00 00 00 81 bc 02 00 00 00 82 20 1f 22 ff 04 08 3c 02 38 06 34 00 00')
  const rig = runCopy(prog, 0x81000000, 0x82000000, 1 << 20)
  assert.is(rig.readl(0x400), 0x81100000)
  assert.is(rig.readl(0x404), 0x82100000)
  assert.is(rig.readl(0x40c), 0)
  assert.is(rig.readl(0x410), 0)
})

test('3 MiB + 384 B memcpy (two loop passes)', () => {
  const prog = hex('bc 01 f7 c0 3d 00 bc 00 00 00 00 81 bc 02 00 00 00 82 20 5f 22 ff 04 08 3c 02 38 06 22 02 04 08 3c 02 34 00 00')
  const len = 3 * (1 << 20) + 384
  const rig = runCopy(prog, 0x81000000, 0x82000000, len)
  assert.is(rig.readl(0x400), 0x81000000 + len)
  assert.is(rig.readl(0x404), 0x82000000 + len)
})

test.run()
