import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RAM_BASE, fixture, linuxAttach, master } from './helpers.ts'

test('explainFaults: the fault records in words', () => {
  const f = fixture()
  assert.equal(f.smmu.explainFaults(), [])
  const pt = linuxAttach(f, { sid: 3 })
  pt.map(0x5000, RAM_BASE, 3, { read: true, write: false })
  master(f).write(0x5000, [1])
  master(f).read(0x9000, 4)
  f.w(0, f.r(0) | 0x400)
  master(f, 0x44).read(0x1000, 4, { priv: true, instr: true })
  assert.equal(f.smmu.explainFaults(), [
    'global: unidentified stream fault (no SMR matched and sCR0.USFCFG = 1), on a privileged instruction fetch from stream 0x44 at 0x1000 (sGFSR 0x2)',
    'cb0: permission fault at lookup level 3, on an unprivileged write from stream 0x3 at input address 0x5000 (FSR 0x80000008, FSYNR0 0x193); more faults happened after it (MULTI): only the first is recorded',
  ])
})

test('describeTlb: the cached translations, one per line', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x5000, RAM_BASE + 0x1000, 3, { read: true, write: false })
  pt.map(0x00400000, RAM_BASE + 0x00200000, 2, { read: true, write: true, global: true })
  master(f).read(0x5000, 4)
  master(f).read(0x00400010, 4)
  assert.equal(f.smmu.describeTlb(), [
    'cb0 asid 0: 0x5000 +4 KiB -> 0x80001000 (level 3) priv R-X user R-X',
    'cb0 global: 0x400000 +2 MiB -> 0x80200000 (level 2) priv RWX user RWX',
  ])
})

test.run()
