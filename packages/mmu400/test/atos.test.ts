import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RAM_BASE, fixture, linuxAttach } from './helpers.ts'

test('ATS1PR (32-bit write, Linux iova_to_phys): ATSR reads 0, PAR = PA[39:12] | LPAE, F = 0', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x12345000, 0x12_8765_4000, 3, { read: true, write: true, attrIndx: 1 })
  f.w(f.cb(0) + 0x800, 0x12345000)
  assert.is(f.r(f.cb(0) + 0x8f0), 0)
  const par = f.r64(f.cb(0) + 0x50)
  assert.is(par & 1n, 0n)
  // Linux: phys = (PAR & GENMASK(39, 12)) | (iova & 0xfff)
  assert.is(par & 0xfffffff000n, 0x12_8765_4000n)
  assert.is(par & 0x800n, 0x800n)
  assert.is(par >> 56n, 0xffn, 'ATTR = MAIR byte of AttrIndx 1 (0xFF)')
  assert.is(f.r(f.cb(0) + 0x58), 0, 'no FSR update')
})

test('ATS1PR on an unmapped VA: PAR.F = 1, FST = TF, PLVL; no FSR and no interrupt', () => {
  const f = fixture()
  linuxAttach(f)
  f.w(f.cb(0) + 0x800, 0x40000000)
  const par = f.r64(f.cb(0) + 0x50)
  assert.is(par & 1n, 1n)
  assert.is(par & 0x7en, 0x2n)
  assert.is((par >> 32n) & 3n, 1n)
  assert.is(f.r(f.cb(0) + 0x58), 0)
  assert.is(f.cIrq.asserted, false)
})

test('ATS1PW on a read-only page, ATS1UR on a privileged page: permission fault in PAR', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x1000, RAM_BASE, 3, { read: true, write: false })
  pt.map(0x2000, RAM_BASE, 3, { read: true, write: true, priv: true })
  f.w(f.cb(0) + 0x800, 0x1000)
  assert.is(f.r64(f.cb(0) + 0x50) & 1n, 0n)
  f.w(f.cb(0) + 0x808, 0x1000)
  assert.is(f.r64(f.cb(0) + 0x50) & 0x7fn, 0x9n, 'F | PF')
  f.w(f.cb(0) + 0x810, 0x2000)
  assert.is(f.r64(f.cb(0) + 0x50) & 0x7fn, 0x9n)
  f.w(f.cb(0) + 0x818, 0x1000)
  assert.is(f.r64(f.cb(0) + 0x50) & 0x7fn, 0x9n)
  f.w(f.cb(0) + 0x800, 0x2000)
  assert.is(f.r64(f.cb(0) + 0x50) & 1n, 0n)
})

test('ATOS fires on the low-word write: a high-word write alone does nothing (hi-lo split)', () => {
  const f = fixture()
  const pt = linuxAttach(f)
  pt.map(0x3000, RAM_BASE + 0x3000)
  f.w(f.cb(0) + 0x804, 0)
  assert.is(f.smmu.stats.atos, 0)
  f.w(f.cb(0) + 0x800, 0x3000)
  assert.is(f.smmu.stats.atos, 1)
  assert.is(f.r64(f.cb(0) + 0x50) & 0xfffffff000n, BigInt(RAM_BASE + 0x3000))
})

test('global ATOS: GATS1PR with the CB index in bits [11:0], result in GPAR', () => {
  const f = fixture()
  const pt = linuxAttach(f, { cb: 2, sid: 9 })
  pt.map(0x7000, RAM_BASE + 0x9000)
  f.w64(0x110, 0x7000n | 2n)
  assert.is(f.r(0x188), 0, 'GATSR')
  assert.is(f.r64(0x180) & 0xfffffff000n, BigInt(RAM_BASE + 0x9000))
  f.w64(0x110, 0x8000n | 2n)
  assert.is(f.r64(0x180) & 1n, 1n)
})

test('ATOS on a disabled bank returns the input address', () => {
  const f = fixture()
  linuxAttach(f, { sctlr: 0 })
  f.w(f.cb(0) + 0x800, 0x5000)
  assert.is(f.r64(f.cb(0) + 0x50), 0x5800n)
})

test.run()
