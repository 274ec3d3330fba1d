import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Mmu400 } from '../src/index.ts'
import { Interconnect, IrqLine } from '@vfio-sim/sim'
import { fixture } from './helpers.ts'

test('ID registers of the default (stage-1 MMU-400) personality', () => {
  const f = fixture()
  assert.is(f.r(0x20), 0x49015e10, 'IDR0 = S1TS|SMS|PTFS_NO_AARCH32S|NUMIRPT=1|CTTW|NUMSIDB=15|NUMSMRG=16')
  assert.is(f.r(0x24), 0x20000008, 'IDR1: 4K pages, NUMPAGENDXB=2, NUMS2CB=0, NUMCB=8')
  assert.is(f.r(0x28), 0x22, 'IDR2: IAS=OAS=40')
  assert.is(f.r(0x3c), 0, 'IDR7')
  // IDR registers are read-only.
  f.w(0x20, 0)
  assert.is(f.r(0x20), 0x49015e10)
})

test('ID registers follow the configuration', () => {
  const f = fixture({ contextBanks: 4, smrGroups: 4, streamIdBits: 2, contextIrqs: 2, coherentWalk: false, atos: false })
  assert.is(f.r(0x20), (0x40000000 | 0x08000000 | 0x04000000 | 0x01000000 | (2 << 16) | (2 << 9) | 4) >>> 0)
  assert.is(f.r(0x24), 0x20000004)
})

test('v1: NUMIRPT defaults to the number of context interrupt lines wired', () => {
  const bus = new Interconnect()
  const lines = [0, 1, 2].map(i => new IrqLine(`c${i}`, () => {}))
  const s = new Mmu400({ bus, irqs: { context: lines } })
  assert.is((s.read('IDR0') >>> 16) & 0xff, 3)
  const t = new Mmu400({ bus, irqs: { context: lines }, config: { contextIrqs: 1 } })
  assert.is((t.read('IDR0') >>> 16) & 0xff, 1)
})

test('geometry: CB0 at +0x8000 and a 64 KiB window; more banks grow NUMPAGE', () => {
  const s = new Mmu400({ bus: new Interconnect() })
  assert.is(s.mmio.size, 0x10000)
  assert.is(s.config.cbBase, 0x8000)
  const big = new Mmu400({ bus: new Interconnect(), config: { contextBanks: 12 } })
  assert.is(big.config.numPage, 16)
  assert.is(big.config.cbBase, 0x10000)
  assert.is(big.mmio.size, 0x20000)
  // IDR1.NUMPAGENDXB = 3 → NUMPAGE = 16, and Linux's size check 2*NUMPAGE*4K holds.
  assert.is((big.read('IDR1') >>> 28) & 7, 3)
  assert.is(2 * (1 << (((big.read('IDR1') >>> 28) & 7) + 1)) * 0x1000, big.mmio.size)
})

test('v2 variant: IDR2 has UBS=48 and PTFS_4K, CBA2R and TCR2 exist, PIDR2.ARCH=1', () => {
  const f = fixture({ version: 2 })
  assert.is(f.r(0x28), 0x1522)
  f.w(f.gr1 + 0x800, 1)
  assert.is(f.r(f.gr1 + 0x800), 1)
  f.w(f.cb(0) + 0x10, 0x15)
  assert.is(f.r(f.cb(0) + 0x10), 0x15)
  assert.is(f.r(0xfe8), 0x1b)
})

test('reset values: sCR0 CLIENTPD, S2CR fault, SCTLR, TCR EAE', () => {
  const f = fixture()
  assert.is(f.r(0x0), 0x00200101, 'MMU-400 value: CLIENTPD | STALLD | SMCFCFG')
  assert.is(f.r(0xc00), 0x00020000)
  assert.is(f.r(0xc00 + 4 * 15), 0x00020000)
  assert.is(f.r(0x800), 0)
  assert.is(f.r(f.cb(0)), 0x106)
  assert.is(f.r(f.cb(7) + 0x30), 0x80000000)
  const g = fixture({ stall: false })
  assert.is(g.r(0x0), 0x00200101)
})

test('sCR0 tied bits: SMCFCFG and STALLD read 1 whatever is written', () => {
  const f = fixture()
  f.w(0, 0)
  assert.is(f.r(0), 0x00200100)
  f.w(0, 0xffffffff)
  assert.is(f.r(0), 0x3fffff37, "bits 3, 6, 7, 30, 31 are not implemented on v1")
})

test('TTBCR.EAE reads as one in AArch32 contexts even if written 0', () => {
  const f = fixture()
  f.w(f.cb(1) + 0x30, 0x20)
  assert.is(f.r(f.cb(1) + 0x30), 0x80000020)
})

test('PIDR/CIDR at GR0 0xFD0..0xFFC and mirrored at the top of the window', () => {
  const f = fixture({ contextBanks: 4 })
  const expect = [0x44, 0, 0, 0, 0x80, 0xb4, 0x0b, 0, 0x0d, 0xf0, 0x05, 0xb1]
  expect.forEach((v, i) => {
    assert.is(f.r(0xfd0 + 4 * i), v)
    assert.is(f.r(0xffd0 + 4 * i), v)
  })
  // With all 8 bank pages implemented, the top page is CB7: no mirror there.
  const g = fixture()
  assert.is(g.r(0xffe8), 0)
})

test('SMR probe: ID and MASK bits above NUMSIDB are RAZ/WI (Linux arm_smmu_test_smr_masks)', () => {
  const f = fixture({ streamIdBits: 2, smrGroups: 4 })
  f.w(0x800, 0xffff)
  assert.is(f.r(0x800), 0x3)
  f.w(0x800, 0x7fff0000)
  assert.is(f.r(0x800), 0x30000)
  f.w(0x800, 0xffffffff)
  assert.is(f.r(0x800), 0x80030003)
  const g = fixture()
  g.w(0x804, 0xffff)
  assert.is(g.r(0x804), 0x7fff)
  g.w(0x804, 0x7fff << 16)
  assert.is(g.r(0x804), 0x7fff0000)
})

test('64-bit registers as two 32-bit halves and as one 64-bit access', () => {
  const f = fixture()
  const t = f.cb(2) + 0x20
  f.w(t + 4, 0x00050012)
  f.w(t, 0x80001000)
  assert.is(f.r(t), 0x80001000)
  assert.is(f.r(t + 4), 0x00050012)
  assert.is(f.r64(t), 0x0005001280001000n)
  f.w64(t + 8, 0x1234567890abcdefn)
  assert.is(f.r(t + 8), 0x90abcdef)
  assert.is(f.r(t + 12), 0x12345678)
  assert.is(f.smmu.contexts[2]!.asid, 5)
  assert.is(f.smmu.contexts[2]!.ttb0, 0x12_8000_1000)
})

test('status registers read zero; write-only registers read zero', () => {
  const f = fixture()
  f.w(0x70, 0xffffffff)
  assert.is(f.r(0x74), 0, 'sTLBGSTATUS.GSACTIVE')
  f.w(f.cb(0) + 0x7f0, 0xffffffff)
  assert.is(f.r(f.cb(0) + 0x7f4), 0, 'TLBSTATUS.SACTIVE')
  assert.is(f.r(f.cb(0) + 0x8f0), 0, 'ATSR')
  f.w(f.cb(0) + 0x600, 0x1234)
  assert.is(f.r(f.cb(0) + 0x600), 0)
})

test('unimplemented offsets are RAZ/WI', () => {
  const f = fixture()
  f.w(0x2000, 0xffffffff)
  assert.is(f.r(0x2000), 0)
  f.w(f.cb(0) + 0xe00, 0xffffffff)
  assert.is(f.r(f.cb(0) + 0xe00), 0)
  assert.ok(f.smmu.mmio.logCounts.unknown >= 2)
})

test('SCTLR.CFCFG is RAZ/WI without stall support, writable with it', () => {
  const f = fixture({ stall: false })
  f.w(f.cb(0), 0xff)
  assert.is(f.r(f.cb(0)), 0x7f)
  const g = fixture()
  g.w(g.cb(0), 0xff)
  assert.is(g.r(g.cb(0)), 0xff)
})

test('register table describe() lists every register', () => {
  const f = fixture()
  const md = f.smmu.table.describe()
  for (const n of ['sCR0', 'IDR0', 'SMRn', 'S2CRn', 'CBARn', 'SCTLRn', 'TTBR0n', 'FSRn', 'TLBIVAn', 'ATS1PRn', 'RESUMEn']) assert.ok(md.includes(`| ${n} |`), n)
})

test.run()
