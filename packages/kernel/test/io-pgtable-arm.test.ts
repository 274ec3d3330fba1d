/**
 * Hand-checked io-pgtable-arm behaviour: descriptor values worked out bit by
 * bit from the ARM descriptor format and Linux's `arm_lpae_prot_to_pte`
 * (spec/smmu.md §3.4, §5.4), the TCR/MAIR values arm-smmu programs (§5.3),
 * block splitting, TLB callbacks, and the Linux selftest sequence
 * (`arm_lpae_run_tests`).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeTables, linuxS1Descriptor, linuxS1Mapping, plainMapping } from '@vfio-sim/testkit'
import { isKernelError } from '../src/errno.ts'
import {
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
  allocIoPgtableOps,
  freeIoPgtableOps,
  iommuPgsize,
  pageTableMemory,
  type IoPgtableFmt,
} from '../src/drivers/iommu/io-pgtable.ts'
import { SZ_1G, SZ_2M, SZ_4K, PGSIZES_4K_2M_1G, limitedMemory, recordingTlb, regimeFor, smmuCfg, testKernel } from './io-pgtable-helpers.ts'

const RW = IOMMU_READ | IOMMU_WRITE

function throwsKernel(fn: () => unknown, code: string): void {
  try {
    fn()
  } catch (e) {
    assert.ok(isKernelError(e), `expected KernelError ${code}, got ${String(e)}`)
    assert.is((e as { code: string }).code, code)
    return
  }
  assert.unreachable(`expected KernelError ${code}`)
}

/** A fresh kernel and table. */
function setup(fmt: IoPgtableFmt = 'ARM_32_LPAE_S1', opts: { coherent?: boolean; ns?: boolean; ias?: number; oas?: number } = {}) {
  const k = testKernel()
  const tlb = recordingTlb()
  const cfg = smmuCfg(fmt, { ...opts, tlb })
  const before = k.pages.snapshot()
  const ops = allocIoPgtableOps(fmt, cfg, pageTableMemory(k))
  const ttbr = cfg.arm_lpae_s1_cfg!.ttbr
  const decode = () => decodeTables(k.sys.memory, regimeFor(fmt, cfg.ias, cfg.oas), ttbr)
  return { k, tlb, cfg, ops, ttbr, before, decode, mem: k.sys.memory }
}

test('alloc: ARM_32_LPAE_S1 fills TCR/MAIR/TTBR as arm-smmu expects (TTBCR 0x80803520 coherent, 0x80802020 not)', () => {
  for (const coherent of [true, false]) {
    const { k, cfg, ttbr } = setup('ARM_32_LPAE_S1', { coherent })
    const s1 = cfg.arm_lpae_s1_cfg!
    assert.equal(s1.tcr, coherent ? { ips: 2, tg: 0, sh: 3, orgn: 1, irgn: 1, tsz: 32 } : { ips: 2, tg: 0, sh: 2, orgn: 0, irgn: 0, tsz: 32 })
    assert.is(s1.mair, 0xf404ff44n)
    // The arm-smmu v1 TTBCR: EAE | EPD1 | SH0 << 12 | ORGN0 << 10 | IRGN0 << 8 | T0SZ (tsz & 7 … Linux writes 32).
    const ttbcr = (1 << 31) >>> 0 | (1 << 23) | (s1.tcr.sh << 12) | (s1.tcr.orgn << 10) | (s1.tcr.irgn << 8) | s1.tcr.tsz
    assert.is(ttbcr >>> 0, coherent ? 0x80803520 : 0x80802020)
    // The root table is one page of the allocator, owned by io-pgtable, zeroed.
    assert.is(k.pages.usedPages, 1)
    assert.equal([...k.pages.owners()], [['io-pgtable', 1]])
    assert.ok(k.pages.isAllocated(Number(ttbr)))
    assert.is(Number(ttbr) % SZ_4K, 0)
    assert.is(cfg.pgsizeBitmap, PGSIZES_4K_2M_1G)
  }
})

test('alloc: page sizes restricted to 4K|2M|1G, ias/oas clamped to 48, TCR.IPS from oas', () => {
  const k = testKernel()
  const cfg = smmuCfg('ARM_64_LPAE_S1', { ias: 49, oas: 44, coherent: true })
  cfg.pgsizeBitmap = 0x1000n | 0x10000n | 0x20_0000n | 0x4000_0000n | (1n << 39n)
  const ops = allocIoPgtableOps('ARM_64_LPAE_S1', cfg, pageTableMemory(k))
  assert.is(cfg.pgsizeBitmap, PGSIZES_4K_2M_1G)
  assert.is(cfg.ias, 48)
  assert.equal(cfg.arm_lpae_s1_cfg!.tcr, { ips: 4, tg: 0, sh: 3, orgn: 1, irgn: 1, tsz: 16 })
  freeIoPgtableOps(ops)
  const ips: Record<number, number> = { 32: 0, 36: 1, 40: 2, 42: 3, 44: 4, 48: 5 }
  for (const [oas, v] of Object.entries(ips)) {
    const c = smmuCfg('ARM_64_LPAE_S1', { oas: Number(oas) })
    freeIoPgtableOps(allocIoPgtableOps('ARM_64_LPAE_S1', c, pageTableMemory(k)))
    assert.is(c.arm_lpae_s1_cfg!.tcr.ips, v)
  }
  assert.is(k.pages.usedPages, 0)
})

test('alloc: what Linux answers with NULL is ENOMEM (ias > 32 or oas > 40 for the 32-bit format, odd oas, no 4K granule)', () => {
  const k = testKernel()
  const mem = pageTableMemory(k)
  throwsKernel(() => allocIoPgtableOps('ARM_32_LPAE_S1', smmuCfg('ARM_32_LPAE_S1', { ias: 33 }), mem), 'ENOMEM')
  throwsKernel(() => allocIoPgtableOps('ARM_32_LPAE_S1', smmuCfg('ARM_32_LPAE_S1', { oas: 41 }), mem), 'ENOMEM')
  throwsKernel(() => allocIoPgtableOps('ARM_64_LPAE_S1', smmuCfg('ARM_64_LPAE_S1', { oas: 39 }), mem), 'ENOMEM')
  const c = smmuCfg('ARM_64_LPAE_S1')
  c.pgsizeBitmap = 0x10000n | 0x2000_0000n
  throwsKernel(() => allocIoPgtableOps('ARM_64_LPAE_S1', c, mem), 'ENOMEM')
  throwsKernel(() => allocIoPgtableOps('ARM_32_LPAE_S1', smmuCfg('ARM_32_LPAE_S1'), limitedMemory(k, { left: 0 })), 'ENOMEM')
  assert.is(k.pages.usedPages, 0)
})

test('map 4K R|W: the page descriptor is 0x81234e43 (nG|AF|SH=OS|AP_UNPRIV|page), reached through L1 and L2 tables', () => {
  const { ops, ttbr, mem, decode, k } = setup('ARM_32_LPAE_S1', { coherent: true })
  assert.is(ops.mapPages(0x1000_0000, 0x8123_4000, SZ_4K, 1, RW), SZ_4K)
  // Walk by hand: L1 index 0 of the 4-entry root, L2 index 0x80, L3 index 0.
  const l1 = mem.read64(Number(ttbr) + 0 * 8)
  assert.is(l1 & 3n, 3n, 'L1 entry is a table')
  assert.is(l1 & ~0xfffn, l1 - 3n, 'coherent walk: no SW_SYNC bit, only address | 0b11')
  const l2 = mem.read64(Number(l1 & 0xffff_ffff_f000n) + 0x80 * 8)
  assert.is(l2 & 3n, 3n)
  const l3 = mem.read64(Number(l2 & 0xffff_ffff_f000n))
  assert.is(l3, 0x8123_4e43n)
  assert.is(l3, linuxS1Descriptor(0x8123_4000, 0x1000, RW))
  assert.is(k.pages.usedPages, 3)
  const d = decode()
  assert.equal(d.mappings.map(plainMapping), [linuxS1Mapping(0x1000_0000, 0x8123_4000, 0x1000, RW)])
  assert.is(d.invalid.length, 0)
  assert.is(ops.iovaToPhys(0x1000_0abc), 0x8123_4abc)
  assert.is(ops.iovaToPhys(0x1000_1000), 0)
})

test('map 2M READ|CACHE|NOEXEC: block 0x0060000040200fc5 (XN|PXN, AP read-only+unpriv, SH=IS, AttrIndx 1)', () => {
  const { ops, decode } = setup('ARM_32_LPAE_S1', { coherent: true })
  const prot = IOMMU_READ | IOMMU_CACHE | IOMMU_NOEXEC
  assert.is(ops.mapPages(0x4020_0000, 0x4020_0000, SZ_2M, 1, prot), SZ_2M)
  const d = decode()
  assert.is(d.mappings.length, 1)
  assert.is(d.mappings[0]!.raw, 0x0060_0000_4020_0fc5n)
  assert.is(d.mappings[0]!.level, 2)
  assert.is(ops.iovaToPhys(0x4023_4567), 0x4023_4567)
})

test('map 1G WRITE|MMIO|PRIV with the NS quirk: block 0xc0000e29 (AttrIndx 2, NS, no AP bits), no XN for MMIO alone', () => {
  const { ops, decode, mem, ttbr } = setup('ARM_32_LPAE_S1', { coherent: false, ns: true })
  const prot = IOMMU_WRITE | IOMMU_MMIO | IOMMU_PRIV
  ops.mapPages(0xc000_0000, 0xc000_0000, SZ_1G, 1, prot)
  assert.is(mem.read64(Number(ttbr) + 3 * 8), 0xc000_0e29n)
  assert.equal(decode().mappings.map(plainMapping), [linuxS1Mapping(0xc000_0000, 0xc000_0000, 0x4000_0000, prot, { nsQuirk: true })])
  // A table descriptor under the quirk has NSTable (63), and SW_SYNC (55) for a non-coherent walker.
  ops.mapPages(0x1000, 0x5000, SZ_4K, 1, RW)
  const l1 = mem.read64(Number(ttbr))
  assert.is(l1 >> 52n, 0x808n)
  assert.is(l1 & 0xfffn, 3n)
})

test('non-coherent walk: table descriptors carry SW_SYNC (bit 55); leaves do not', () => {
  const { ops, decode } = setup('ARM_32_LPAE_S1', { coherent: false })
  ops.mapPages(0x20_0000, 0x9000_0000, SZ_4K, 2, RW)
  const d = decode()
  assert.is(d.tables.length, 2)
  for (const t of d.tables) assert.is(t.raw & ~0xff_ffff_f000n, (1n << 55n) | 3n)
  for (const m of d.mappings) assert.is(m.raw >> 52n, 0n)
})

test('ARM_64_LPAE_S1 with ias 48 starts at level 0; ias 30 at level 2 (1G pages refused)', () => {
  const a = setup('ARM_64_LPAE_S1', { ias: 48, oas: 48, coherent: true })
  a.ops.mapPages(0x7fff_ffff_f000, 0xff_ffff_f000, SZ_4K, 1, RW)
  const d = a.decode()
  assert.equal(d.tables.map(t => t.level), [0, 1, 2])
  assert.equal(d.mappings.map(plainMapping), [linuxS1Mapping(0x7fff_ffff_f000, 0xff_ffff_f000, 0x1000, RW)])
  assert.is(a.ops.iovaToPhys(0x7fff_ffff_f123), 0xff_ffff_f123)
  const b = setup('ARM_64_LPAE_S1', { ias: 30, oas: 40, coherent: true })
  throwsKernel(() => b.ops.mapPages(0, 0, SZ_1G, 1, RW), 'EINVAL')
  b.ops.mapPages(0x3fe0_0000, 0x1_0000_0000, SZ_2M, 1, RW)
  assert.equal(b.decode().mappings.map(m => [m.level, m.va, m.pa]), [[2, 0x3fe0_0000, 0x1_0000_0000]])
})

test('bad arguments: EINVAL for page size / alignment / no access; ERANGE outside ias/oas; nothing written', () => {
  const { ops, k } = setup('ARM_32_LPAE_S1')
  throwsKernel(() => ops.mapPages(0, 0, 0x2000, 1, RW), 'EINVAL')
  throwsKernel(() => ops.mapPages(0, 0, 0x10000, 1, RW), 'EINVAL')
  throwsKernel(() => ops.mapPages(0, 0, 0, 1, RW), 'EINVAL')
  throwsKernel(() => ops.mapPages(0x1000, 0, SZ_2M, 1, RW), 'EINVAL')
  throwsKernel(() => ops.mapPages(0, 0x1000, SZ_2M, 1, RW), 'EINVAL')
  throwsKernel(() => ops.mapPages(0, 0, SZ_4K, 1, 0), 'EINVAL')
  throwsKernel(() => ops.mapPages(0, 0, SZ_4K, 1, IOMMU_CACHE | IOMMU_NOEXEC), 'EINVAL')
  throwsKernel(() => ops.mapPages(-0x1000, 0, SZ_4K, 1, RW), 'EINVAL')
  throwsKernel(() => ops.mapPages(0.5, 0, SZ_4K, 1, RW), 'EINVAL')
  throwsKernel(() => ops.mapPages(2 ** 32, 0, SZ_4K, 1, RW), 'ERANGE')
  throwsKernel(() => ops.mapPages(0, 2 ** 40, SZ_4K, 1, RW), 'ERANGE')
  throwsKernel(() => ops.mapPages(0xffff_f000, 0, SZ_4K, 2, RW), 'ERANGE')
  throwsKernel(() => ops.mapPages(0, 2 ** 40 - SZ_4K, SZ_4K, 2, RW), 'ERANGE')
  // ERANGE wins over a bad prot (Linux's order of checks); the page size is checked first.
  throwsKernel(() => ops.mapPages(2 ** 32, 0, SZ_4K, 1, 0), 'ERANGE')
  throwsKernel(() => ops.mapPages(2 ** 32, 0, 0x3000, 1, 0), 'EINVAL')
  assert.is(ops.mapPages(0, 0, SZ_4K, 0, RW), 0)
  assert.is(k.pages.usedPages, 1, 'no table was allocated')
  // unmapPages answers 0 to bad arguments (Linux WARN_ON paths).
  assert.is(ops.unmapPages(0, 0x2000, 1), 0)
  assert.is(ops.unmapPages(0, SZ_4K, 0), 0)
  assert.is(ops.unmapPages(2 ** 32, SZ_4K, 1), 0)
  assert.is(ops.unmapPages(NaN, SZ_4K, 1), 0)
  assert.is(ops.iovaToPhys(-1), 0)
})

test('EEXIST: the same page twice, a page inside a block, a block over a block; nothing changes', () => {
  const { ops, decode, tlb } = setup('ARM_32_LPAE_S1', { coherent: true })
  ops.mapPages(0x1000, 0x1000, SZ_4K, 1, RW)
  ops.mapPages(0x40_0000, 0x40_0000, SZ_2M, 1, RW)
  const before = decode()
  throwsKernel(() => ops.mapPages(0x1000, 0x9000, SZ_4K, 1, IOMMU_READ), 'EEXIST')
  throwsKernel(() => ops.mapPages(0x40_1000, 0x9000, SZ_4K, 1, IOMMU_READ), 'EEXIST')
  throwsKernel(() => ops.mapPages(0x40_0000, 0x80_0000, SZ_2M, 1, IOMMU_READ), 'EEXIST')
  // Five pages ending on the existing one: the first chunk… fails as a whole (no page of it is written).
  throwsKernel(() => ops.mapPages(0, 0, SZ_4K, 5, RW), 'EEXIST')
  assert.equal(decode(), before)
  assert.equal(tlb.calls, [])
})

test("Linux's WARN_ON paths reach cfg.warn: mapping over a leaf or inside a block, unmapping a hole, bad page size, outside ias", () => {
  const warnings: string[] = []
  const k = testKernel()
  const ops = allocIoPgtableOps('ARM_32_LPAE_S1', smmuCfg('ARM_32_LPAE_S1', { warn: m => warnings.push(m) }), pageTableMemory(k))
  ops.mapPages(0, 0, SZ_4K, 1, RW)
  ops.mapPages(SZ_2M, 0, SZ_2M, 1, RW)
  assert.equal(warnings, [])
  throwsKernel(() => ops.mapPages(0, 0, SZ_4K, 1, RW), 'EEXIST')
  throwsKernel(() => ops.mapPages(SZ_2M + SZ_4K, 0, SZ_4K, 1, RW), 'EEXIST')
  throwsKernel(() => ops.mapPages(0, 0, 0x8000, 1, RW), 'EINVAL')
  throwsKernel(() => ops.mapPages(2 ** 32, 0, SZ_4K, 1, RW), 'ERANGE')
  assert.is(ops.unmapPages(SZ_4K, SZ_4K, 1), 0)
  assert.is(ops.unmapPages(0, SZ_4K, 2), SZ_4K)
  assert.is(ops.unmapPages(2 ** 32, SZ_4K, 1), 0)
  assert.equal(warnings, [
    'WARN_ON: arm_lpae_init_pte: iova 0x0 is already mapped',
    'WARN_ON: __arm_lpae_map: iova 0x201000 is inside a mapped block',
    'WARN_ON: arm_lpae_map_pages: unsupported page size 0x8000',
    'WARN_ON: arm_lpae_map_pages: address outside ias/oas',
    'WARN_ON: __arm_lpae_unmap: nothing mapped',
    'WARN_ON: __arm_lpae_unmap: nothing mapped',
    'WARN_ON: __arm_lpae_unmap: nothing mapped',
    'WARN_ON: arm_lpae_unmap_pages: iova outside ias',
  ])
})

test('EEXIST after a first chunk: the pages mapped by this call are unmapped again (iommu_map unwinding)', () => {
  const { ops, decode } = setup('ARM_32_LPAE_S1', { coherent: true })
  ops.mapPages(0x20_0000, 0x20_0000, SZ_4K, 1, RW)
  const before = decode().mappings
  // 0x1ff000..0x201000: the first chunk (one page of the first L3 table) maps, the second hits 0x200000.
  throwsKernel(() => ops.mapPages(0x1f_f000, 0x1f_f000, SZ_4K, 2, RW), 'EEXIST')
  assert.equal(decode().mappings, before)
  assert.is(ops.iovaToPhys(0x1f_f000), 0)
})

test('a block mapped over a table frees the table and what it still mapped (arm_lpae_init_pte), with a walk flush', () => {
  const { ops, decode, tlb, k } = setup('ARM_32_LPAE_S1', { coherent: true })
  ops.mapPages(0x60_0000, 0x1234_5000, SZ_4K, 3, RW)
  assert.is(k.pages.usedPages, 3)
  ops.mapPages(0x60_0000, 0x7000_0000, SZ_2M, 1, IOMMU_READ)
  assert.equal(tlb.calls, ['flushWalk 0x600000 0x200000 0x1000'])
  assert.equal(decode().mappings.map(plainMapping), [linuxS1Mapping(0x60_0000, 0x7000_0000, 0x20_0000, IOMMU_READ)])
  assert.is(k.pages.usedPages, 2, 'the L3 table page went back to the allocator')
})

test('unmap 4K inside a 2M block splits it: 511 pages with the block attributes remain; one addPage', () => {
  const { ops, decode, tlb, k } = setup('ARM_32_LPAE_S1', { coherent: true })
  const prot = IOMMU_READ | IOMMU_CACHE
  ops.mapPages(0x20_0000, 0x8020_0000, SZ_2M, 1, prot)
  assert.is(ops.unmapPages(0x20_5000, SZ_4K, 1), SZ_4K)
  assert.equal(tlb.calls, ['addPage 0x205000 0x1000'])
  const d = decode()
  assert.is(d.mappings.length, 511)
  const expected = []
  for (let i = 0; i < 512; i++) if (i !== 5) expected.push(linuxS1Mapping(0x20_0000 + i * SZ_4K, 0x8020_0000 + i * SZ_4K, 0x1000, prot))
  assert.equal(d.mappings.map(plainMapping), expected)
  assert.is(ops.iovaToPhys(0x20_5000), 0)
  assert.is(ops.iovaToPhys(0x20_6008), 0x8020_6008)
  assert.is(k.pages.usedPages, 3)
  // Unmapping the rest page by page leaves an empty L3 table (Linux does not free it).
  assert.is(ops.unmapPages(0x20_0000, SZ_4K, 5), 5 * SZ_4K)
  assert.is(ops.unmapPages(0x20_6000, SZ_4K, 506), 506 * SZ_4K)
  assert.is(decode().mappings.length, 0)
  assert.is(k.pages.usedPages, 3)
  // A 2M unmap over the empty table removes it: Linux counts the whole 2M as unmapped.
  tlb.calls.length = 0
  assert.is(ops.unmapPages(0x20_0000, SZ_2M, 1), SZ_2M)
  assert.equal(tlb.calls, ['flushWalk 0x200000 0x200000 0x1000'])
  assert.is(k.pages.usedPages, 2)
})

test('unmap 4K inside a 1G block splits twice: 511 2M blocks + 511 4K pages', () => {
  const { ops, decode, tlb, k } = setup('ARM_32_LPAE_S1', { coherent: false })
  ops.mapPages(SZ_1G, 0x1_0000_0000, SZ_1G, 1, RW)
  const iova = SZ_1G + 3 * SZ_2M + 7 * SZ_4K
  assert.is(ops.unmapPages(iova, SZ_4K, 1), SZ_4K)
  assert.equal(tlb.calls, [`addPage 0x${iova.toString(16)} 0x1000`])
  const d = decode()
  assert.is(d.mappings.filter(m => m.size === SZ_2M).length, 511)
  assert.is(d.mappings.filter(m => m.size === SZ_4K).length, 511)
  for (const m of d.mappings) {
    assert.equal(plainMapping(m), linuxS1Mapping(m.va, m.va - SZ_1G + 0x1_0000_0000, m.size, RW))
  }
  assert.is(k.pages.usedPages, 3)
  assert.is(ops.iovaToPhys(iova), 0)
  assert.is(ops.iovaToPhys(iova + SZ_4K), iova + SZ_4K - SZ_1G + 0x1_0000_0000)
})

test('unmap 2M inside a 1G block (pgcount 3) removes three 2M entries of the split table', () => {
  const { ops, decode, tlb } = setup('ARM_32_LPAE_S1', { coherent: true })
  ops.mapPages(0, 0x4000_0000, SZ_1G, 1, RW)
  assert.is(ops.unmapPages(SZ_2M * 10, SZ_2M, 3), 3 * SZ_2M)
  assert.equal(tlb.calls, ['addPage 0x1400000 0x200000', 'addPage 0x1600000 0x200000', 'addPage 0x1800000 0x200000'])
  assert.is(decode().mappings.length, 509)
})

test('unmap stops at the first hole; a hole first unmaps nothing', () => {
  const { ops, decode } = setup('ARM_32_LPAE_S1', { coherent: true })
  ops.mapPages(0x10_0000, 0x10_0000, SZ_4K, 4, RW)
  ops.mapPages(0x10_5000, 0x10_5000, SZ_4K, 1, RW)
  assert.is(ops.unmapPages(0x0f_f000, SZ_4K, 3), 0)
  assert.is(ops.unmapPages(0x10_2000, SZ_4K, 4), 2 * SZ_4K)
  assert.equal(decode().mappings.map(m => m.va), [0x10_0000, 0x10_1000, 0x10_5000])
})

test('a queued (lazy) gather suppresses addPage for leaves, but not for walks or splits (as Linux)', () => {
  const { ops, tlb } = setup('ARM_32_LPAE_S1', { coherent: true })
  ops.mapPages(0, 0, SZ_4K, 2, RW)
  ops.mapPages(SZ_2M, SZ_2M, SZ_2M, 1, RW)
  assert.is(ops.unmapPages(0, SZ_4K, 2, { queued: true }), 2 * SZ_4K)
  assert.equal(tlb.calls, [])
  assert.is(ops.unmapPages(SZ_2M, SZ_4K, 1, { queued: true }), SZ_4K)
  assert.equal(tlb.calls, ['addPage 0x200000 0x1000'])
})

test('Linux >= 6.13 (blockUnmap refuse): a partial unmap of a block unmaps nothing and warns; the block stays', () => {
  const warnings: string[] = []
  const k = testKernel()
  const tlb = recordingTlb()
  const cfg = smmuCfg('ARM_32_LPAE_S1', { coherent: true, tlb, blockUnmap: 'refuse', warn: m => warnings.push(m) })
  const ops = allocIoPgtableOps('ARM_32_LPAE_S1', cfg, pageTableMemory(k))
  const decode = () => decodeTables(k.sys.memory, regimeFor('ARM_32_LPAE_S1', 32, 40), cfg.arm_lpae_s1_cfg!.ttbr)
  ops.mapPages(SZ_2M, 0x8000_0000, SZ_2M, 1, RW)
  ops.mapPages(SZ_1G, 0x4000_0000, SZ_1G, 1, RW)
  const before = decode()
  assert.is(ops.unmapPages(SZ_2M + SZ_4K, SZ_4K, 1), 0)
  assert.is(ops.unmapPages(SZ_1G + SZ_2M, SZ_2M, 2), 0)
  assert.equal(warnings, ['Unmap of a partial large IOPTE is not allowed', 'Unmap of a partial large IOPTE is not allowed'])
  assert.equal(decode(), before)
  assert.equal(tlb.calls, [])
  assert.is(k.pages.usedPages, 2, 'root + the L2 table of the 2M block')
  // Whole entries still go; every removed entry gets an addPage, a table after its walk flush.
  ops.mapPages(2 * SZ_2M, 0x9000_0000, SZ_4K, 2, RW)
  assert.is(ops.unmapPages(SZ_2M, SZ_2M, 4), 2 * SZ_2M, 'stops at the hole after the table entry')
  assert.equal(tlb.calls, ['flushWalk 0x400000 0x200000 0x1000', 'addPage 0x200000 0x200000', 'addPage 0x400000 0x200000'])
  freeIoPgtableOps(ops)
  assert.is(k.pages.usedPages, 0)
})

test('Linux >= 6.13: tlbAddPage for tables too, after the walk flush; none for a queued gather', () => {
  const k = testKernel()
  const tlb = recordingTlb()
  const ops = allocIoPgtableOps('ARM_32_LPAE_S1', smmuCfg('ARM_32_LPAE_S1', { coherent: true, tlb, blockUnmap: 'refuse' }), pageTableMemory(k))
  ops.mapPages(0, 0x9000_0000, SZ_4K, 2, RW)
  ops.mapPages(SZ_2M, 0x8000_0000, SZ_2M, 1, RW)
  assert.is(ops.unmapPages(0, SZ_2M, 2), 2 * SZ_2M)
  assert.equal(tlb.calls, ['flushWalk 0x0 0x200000 0x1000', 'addPage 0x0 0x200000', 'addPage 0x200000 0x200000'])
  tlb.calls.length = 0
  ops.mapPages(0, 0x9000_0000, SZ_4K, 2, RW)
  assert.is(ops.unmapPages(0, SZ_4K, 2, { queued: true }), 2 * SZ_4K)
  assert.equal(tlb.calls, [])
  // A block mapped over a table (NULL gather inside Linux): a walk flush only.
  ops.mapPages(SZ_1G, 0, SZ_4K, 1, RW)
  ops.mapPages(SZ_1G, 0, SZ_2M, 1, RW)
  assert.equal(tlb.calls, ['flushWalk 0x40000000 0x200000 0x1000'])
})

test('ENOMEM: a failed map leaves the tables as before; a split without memory unmaps nothing', () => {
  const k = testKernel()
  const budget = { left: 2 }
  const cfg = smmuCfg('ARM_32_LPAE_S1', { coherent: true })
  const ops = allocIoPgtableOps('ARM_32_LPAE_S1', cfg, limitedMemory(k, budget))
  const decode = () => decodeTables(k.sys.memory, regimeFor('ARM_32_LPAE_S1', 32, 40), cfg.arm_lpae_s1_cfg!.ttbr)
  ops.mapPages(0, 0, SZ_2M, 1, RW)
  // Needs an L2 table under entry 1 (budget 1 left) and then an L3 table: the second allocation fails.
  throwsKernel(() => ops.mapPages(SZ_1G, 0, SZ_4K, 1, RW), 'ENOMEM')
  assert.equal(decode().mappings.map(m => m.va), [0])
  assert.is(budget.left, 0)
  assert.is(ops.unmapPages(SZ_4K, SZ_4K, 1), 0)
  assert.equal(decode().mappings.map(m => [m.va, m.size]), [[0, SZ_2M]])
  freeIoPgtableOps(ops)
  assert.is(k.pages.usedPages, 0)
})

test('free: flushAll first, then every table page goes back; ops after free are inert', () => {
  const { ops, tlb, k, before } = setup('ARM_64_LPAE_S1', { ias: 40, oas: 40, coherent: true })
  ops.mapPages(0, 0, SZ_4K, 3, RW)
  ops.mapPages(0x80_0000_0000 - SZ_2M, 0, SZ_2M, 1, RW)
  ops.mapPages(0x40_0000_0000, 0, SZ_1G, 2, RW)
  ops.unmapPages(0x40_0000_0000 + SZ_4K, SZ_4K, 1)
  assert.ok(k.pages.usedPages > 5)
  tlb.calls.length = 0
  freeIoPgtableOps(ops)
  assert.equal(tlb.calls, ['flushAll'])
  assert.equal(k.pages.snapshot(), before)
  freeIoPgtableOps(ops)
  assert.equal(tlb.calls, ['flushAll'])
  throwsKernel(() => ops.mapPages(0, 0, SZ_4K, 1, RW), 'EINVAL')
  assert.is(ops.unmapPages(0, SZ_4K, 1), 0)
  assert.is(ops.iovaToPhys(0), 0)
})

test('tables overwritten by DMA: the ops never throw anything but KernelError and free still returns every page', () => {
  const { ops, k, mem, ttbr, before } = setup('ARM_32_LPAE_S1', { coherent: true })
  ops.mapPages(0, 0, SZ_4K, 4, RW)
  ops.mapPages(SZ_1G, 0, SZ_2M, 1, RW)
  ops.unmapPages(SZ_1G + SZ_4K, SZ_4K, 1)
  const tablePages = k.pages.snapshot().filter(p => !before.includes(p))
  const junk = [0n, 3n, 1n, 0xffff_ffff_ffff_ffffn, BigInt(Number(ttbr)) | 3n, 0x8000_0003n, 0x1234_5000n | 3n, 0xdead_b001n]
  let n = 0
  for (const page of tablePages) {
    for (const idx of [0, 1, 2, 3]) mem.write64(page + idx * 8, junk[n++ % junk.length]!)
    for (const fn of [
      () => ops.mapPages(0, 0x5000, SZ_4K, 2, RW),
      () => ops.mapPages(SZ_1G, 0, SZ_2M, 1, RW),
      () => ops.unmapPages(0, SZ_4K, 4),
      () => ops.unmapPages(0, SZ_2M, 1),
      () => ops.unmapPages(SZ_1G, SZ_4K, 3),
      () => ops.iovaToPhys(SZ_1G + 0x2000),
    ]) {
      try {
        fn()
      } catch (e) {
        assert.ok(isKernelError(e), String(e))
      }
    }
  }
  freeIoPgtableOps(ops)
  assert.equal(k.pages.snapshot(), before)
})

test('Linux selftest sequence (arm_lpae_run_tests) for every ias of the selftest', () => {
  for (const [fmt, ias] of [['ARM_32_LPAE_S1', 32], ...[32, 36, 40, 42, 44, 48].map(i => ['ARM_64_LPAE_S1', i] as const)] as const) {
    const k = testKernel()
    const cfg = smmuCfg(fmt, { ias, oas: fmt === 'ARM_32_LPAE_S1' ? 40 : 48, coherent: true })
    const ops = allocIoPgtableOps(fmt, cfg, pageTableMemory(k))
    for (const iova of [42, SZ_1G + 42, 2 * SZ_1G + 42]) assert.is(ops.iovaToPhys(iova), 0)
    let iova = 0
    for (const size of [SZ_4K, SZ_2M, SZ_1G]) {
      ops.mapPages(iova, iova, size, 1, IOMMU_READ | IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_CACHE)
      throwsKernel(() => ops.mapPages(iova, iova + size, size, 1, IOMMU_READ | IOMMU_NOEXEC), 'EEXIST')
      assert.is(ops.iovaToPhys(iova + 42), iova + 42)
      iova += SZ_1G
    }
    assert.is(ops.unmapPages(SZ_1G + SZ_4K, SZ_4K, 1), SZ_4K)
    ops.mapPages(SZ_1G + SZ_4K, SZ_4K, SZ_4K, 1, IOMMU_READ)
    assert.is(ops.iovaToPhys(SZ_1G + SZ_4K + 42), SZ_4K + 42)
    iova = 0
    for (const size of [SZ_4K, SZ_2M, SZ_1G]) {
      assert.is(ops.unmapPages(iova, size, 1), size, `${fmt} ias ${ias} unmap 0x${size.toString(16)}`)
      assert.is(ops.iovaToPhys(iova + 42), 0)
      ops.mapPages(iova, iova, size, 1, IOMMU_WRITE)
      assert.is(ops.iovaToPhys(iova + 42), iova + 42)
      iova += SZ_1G
    }
    freeIoPgtableOps(ops)
    assert.is(k.pages.usedPages, 0)
  }
})

test('iommuPgsize: largest size both addresses allow, count up to the next bigger boundary (iommu_pgsize)', () => {
  const B = PGSIZES_4K_2M_1G
  assert.equal(iommuPgsize(B, 0x20_0000, 0x20_0000, 0x40_0000), { pgsize: SZ_2M, count: 2 })
  assert.equal(iommuPgsize(B, 0x1000, 0x1000, 0x40_0000), { pgsize: SZ_4K, count: 511 })
  assert.equal(iommuPgsize(B, 0x1000, 0x1000, 0x30_0000), { pgsize: SZ_4K, count: 0x300 })
  assert.equal(iommuPgsize(B, 0x1000, 0x2000, 0x40_0000), { pgsize: SZ_4K, count: 0x400 })
  assert.equal(iommuPgsize(B, 0, 0, 0x1000), { pgsize: SZ_4K, count: 1 })
  assert.equal(iommuPgsize(B, 0, 0, 0x800), { pgsize: 0, count: 0 })
  assert.equal(iommuPgsize(B, 0x800, 0, 0x1000), { pgsize: 0, count: 0 })
  assert.equal(iommuPgsize(B, SZ_1G, 0, 3 * SZ_1G + SZ_2M), { pgsize: SZ_1G, count: 3 })
  assert.equal(iommuPgsize(B, SZ_2M * 511, SZ_2M * 511, SZ_1G + SZ_2M), { pgsize: SZ_2M, count: 1 })
  assert.equal(iommuPgsize(B, SZ_2M * 511, SZ_2M * 511, SZ_1G), { pgsize: SZ_2M, count: 512 })
  assert.equal(iommuPgsize(B, 0, 0, 0), { pgsize: 0, count: 0 })
  assert.equal(iommuPgsize(B, -1, 0, 0x1000), { pgsize: 0, count: 0 })
})

test.run()
