import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RAM_BASE, fixture, linuxAttach, master, traceLines } from './helpers.ts'

test('trace: stream match, TLB miss, each walk level, permission check, fault, TLB hit, invalidate', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sid: 3 })
  pt.map(0x1000, RAM_BASE + 0x2000, 3, { read: true, write: false })
  const lines = traceLines(f)
  const m = master(f)
  m.read(0x1000, 4)
  m.read(0x1000, 4)
  m.write(0x1000, [1])
  f.w(f.cb(0) + 0x620, 0x1000)
  const text = lines.join('\n')
  assert.match(text, /smmu\/global smmu_stream_match: stream 0x3: SMR 0 -> S2CR 0x0 \(translate, cb 0\)/)
  assert.match(text, /smmu\/cb0 smmu_tlb_miss: TLB miss 0x1000 \(asid 0\): walk/)
  assert.match(text, /smmu_walk_start: walk 0x1000: TTBR0 table 0x8f000000, start level 1, 32-bit input/)
  assert.match(text, /smmu_walk_level: L1 table 0x8f000000\[0\] @ 0x8f000000 = 0x8f001003 \(table\)/)
  assert.match(text, /smmu_walk_level: L2 table 0x8f001000\[0\] @ 0x8f001000 = 0x8f002003 \(table\)/)
  // lo = PA | page | AP[1] | AP[2] (read-only) | AF | nG
  assert.match(text, /smmu_walk_level: L3 table 0x8f002000\[1\] @ 0x8f002008 = 0x80002cc3 \(page\)/)
  assert.match(text, /smmu_tlb_hit: TLB hit 0x1000 -> 0x80002000 \(level 3, asid 0\)/)
  assert.match(text, /smmu_perm: permission check 0x1000: unprivileged write against priv R-X user R-X: ok=0/)
  assert.match(text, /smmu_fault: context fault permission at 0x1000: FSR 0x8 FSYNR0 0x193 \(first=1\) -> abort/)
  assert.match(text, /smmu_tlb_inval: TLB invalidate TLBIVAL va 0x1000 asid 0: 1 entries removed/)
  assert.match(text, /smmu_irq: interrupt irq1 -> 1/)
})

test('trace: bypass and global faults', () => {
  const f = fixture()
  const lines = traceLines(f)
  master(f, 5).read(RAM_BASE, 4)
  linuxAttach(f)
  f.w(0, f.r(0) | 0x400)
  master(f, 9).read(RAM_BASE, 4)
  const text = lines.join('\n')
  assert.match(text, /smmu_bypass: stream 0x5: 0x80000000 bypasses translation \(sCR0.CLIENTPD\)/)
  assert.match(text, /smmu_gfault: global fault USF \(unidentified stream\): stream 0x9 addr 0x80000000, sGFSR 0x2 -> abort/)
})

test.run()
