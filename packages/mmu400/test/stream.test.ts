import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { GFSR } from '../src/index.ts'
import { RAM_BASE, fixture, linuxAttach, master } from './helpers.ts'

test('CLIENTPD = 1 at reset: every stream bypasses, untranslated', () => {
  const f = fixture()
  f.mem.write32(RAM_BASE + 0x40, 0x11223344)
  const m = master(f, 0x7)
  assert.is(m.read32(RAM_BASE + 0x40), 0x11223344)
  assert.is(f.smmu.stats.bypassed, 1)
  assert.is(f.r(0x48), 0, 'no global fault')
})

test('unmatched stream with USFCFG = 0 bypasses', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3 })
  f.mem.write32(RAM_BASE + 0x80, 0xcafe)
  assert.is(master(f, 9).read32(RAM_BASE + 0x80), 0xcafe)
  assert.is(f.r(0x48), 0)
})

test('unmatched stream with USFCFG = 1: USF, sGFAR, sGFSYNR0/1, abort with GFRE, global IRQ level', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3 })
  f.w(0, f.r(0) | 0x400) // USFCFG
  const m = master(f, 0x2a)
  const r = m.write(RAM_BASE + 0x1234, [1, 2, 3, 4], { priv: true })
  assert.is(r.respName, 'SLVERR')
  assert.is(r.bytes, 0)
  assert.is(r.faultAddr, RAM_BASE + 0x1234)
  assert.is(f.r(0x48), GFSR.USF)
  assert.is(f.r64(0x40), BigInt(RAM_BASE + 0x1234))
  // sGFSYNR0: WNR bit 1, PNU bit 2, NSSTATE bit 4, NSATTR bit 5.
  assert.is(f.r(0x50), 0x2 | 0x4 | 0x10 | 0x20)
  assert.is(f.r(0x54), 0x2a)
  assert.is(f.gIrq.asserted, true)
  assert.is(f.mem.read32(RAM_BASE + 0x1234), 0, 'write did not reach memory')
  // A second fault sets MULTI only, keeping the first syndrome.
  m.read(RAM_BASE + 0x9000, 4, { instr: true })
  assert.is(f.r(0x48), (GFSR.USF | GFSR.MULTI) >>> 0)
  assert.is(f.r64(0x40), BigInt(RAM_BASE + 0x1234))
  assert.is(f.r(0x50), 0x36)
  // W1C by write-back (Linux's global handler) drops the line.
  f.w(0x48, f.r(0x48))
  assert.is(f.r(0x48), 0)
  assert.is(f.gIrq.asserted, false)
})

test('global fault without GFRE completes as RAZ/WI; without GFIE no interrupt', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3 })
  f.w(0, ((f.r(0) | 0x400) & ~0x6) >>> 0) // USFCFG, GFRE = GFIE = 0
  f.mem.write32(RAM_BASE, 0x55555555)
  const m = master(f, 4)
  const r = m.read(RAM_BASE, 4)
  assert.ok(r.ok)
  assert.equal([...r.data], [0, 0, 0, 0])
  assert.ok(m.write(RAM_BASE, [9, 9, 9, 9]).ok)
  assert.is(f.mem.read32(RAM_BASE), 0x55555555)
  assert.is(f.r(0x48), (GFSR.USF | GFSR.MULTI) >>> 0)
  assert.is(f.gIrq.asserted, false)
  f.w(0, f.r(0) | 0x4)
  assert.is(f.gIrq.asserted, true, 'setting GFIE raises the level while sGFSR != 0')
})

test('two matching SMRs: stream match conflict (SMCF)', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3 })
  f.w(0xc04, 0)
  f.w(0x804, (0x80000000 | (0x3 << 16) | 0x0) >>> 0) // matches 0..3
  const r = master(f, 3).read(0x1000, 4)
  assert.is(r.respName, 'SLVERR')
  assert.is(f.r(0x48), GFSR.SMCF)
  assert.is(f.r(0x54), 3)
})

test('SMR mask matching: masked bits are ignored, others must match', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sid: 0x10, mask: 0x0f })
  pt.map(0x1000, RAM_BASE + 0x3000)
  f.mem.write32(RAM_BASE + 0x3000, 0xabcd)
  assert.is(master(f, 0x1f).read32(0x1000), 0xabcd)
  assert.is(master(f, 0x10).read32(0x1000), 0xabcd)
  // 0x20 does not match (bit 5 differs): bypass, IOVA 0x1000 is not RAM → DECERR from the interconnect.
  assert.is(master(f, 0x20).read(0x1000, 4).respName, 'DECERR')
  // Stream-ID bits above NUMSIDB are not compared.
  assert.is(master(f, 0x10 | 0x8000).read32(0x1000), 0xabcd)
})

test('S2CR type fault: invalid context fault (ICF); reserved type too', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3 })
  f.w(0xc00, 0x00020000)
  assert.is(master(f).read(0x1000, 4).respName, 'SLVERR')
  assert.is(f.r(0x48), GFSR.ICF)
  f.w(0x48, 0xffffffff)
  f.w(0xc00, 0x00030000)
  assert.is(master(f).read(0x1000, 4).respName, 'SLVERR')
  assert.is(f.r(0x48), GFSR.ICF)
})

test('S2CR type bypass passes untranslated', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3 })
  f.w(0xc00, 0x00010000)
  f.mem.write32(RAM_BASE + 0x10, 0x77)
  assert.is(master(f).read32(RAM_BASE + 0x10), 0x77)
})

test('S2CR.CBNDX beyond NUMCB: unimplemented context bank fault (UCBF)', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3 })
  f.w(0xc00, 9)
  assert.is(master(f).read(0x1000, 4).respName, 'SLVERR')
  assert.is(f.r(0x48), GFSR.UCBF)
})

test('stage-2-only bank type (CBAR.TYPE = 0) is an invalid context: ICF', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3 })
  f.w(f.gr1, 0x1)
  assert.is(master(f).read(0x1000, 4).respName, 'SLVERR')
  assert.is(f.r(0x48), GFSR.ICF)
})

test('SCTLR.M = 0: the bank passes transactions untranslated', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3, sctlr: 0x1066 })
  f.mem.write32(RAM_BASE + 0x20, 0x42)
  assert.is(master(f).read32(RAM_BASE + 0x20), 0x42)
})

test('configuration faults use GCFGFRE: without it ICF completes RAZ/WI', () => {
  const f = fixture()
  linuxAttach(f, { sid: 3 })
  f.w(0, (f.r(0) & ~0x10) >>> 0)
  f.w(0xc00, 0x00020000)
  const r = master(f).read(0x1000, 4)
  assert.ok(r.ok)
  assert.is(f.r(0x48), GFSR.ICF)
})

test('sGFSRRESTORE writes sGFSR and drives the interrupt', () => {
  const f = fixture()
  linuxAttach(f)
  f.w(0x4c, GFSR.USF)
  assert.is(f.r(0x48), GFSR.USF)
  assert.is(f.gIrq.asserted, true)
  f.w(0x48, GFSR.USF)
  assert.is(f.gIrq.asserted, false)
})

test('port without a fixed stream ID uses attrs.streamId', () => {
  const f = fixture()
  const pt = linuxAttach(f, { sid: 5 })
  pt.map(0x4000, RAM_BASE + 0x8000)
  f.mem.write32(RAM_BASE + 0x8000, 0x99)
  const p = f.smmu.port()
  const buf = new Uint8Array(4)
  assert.is(p.read(0x4000, buf, 0, 4, { streamId: 5, priv: false, instr: false, secure: false }), 4)
  assert.is(buf[0], 0x99)
})

test.run()
