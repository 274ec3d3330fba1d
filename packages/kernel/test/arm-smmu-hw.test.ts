/**
 * The arm-smmu driver against the MMU-400 model, register by register:
 * probe log, reset values, stream-map entries, context-bank programming,
 * TLB maintenance on unmap, fault handlers (Linux's log lines, status
 * cleared) and the stale-TLB fault injection. Expected register values are
 * computed by hand from arm-smmu.c/arm-smmu.h and spec/smmu.md §5.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  IOMMU_PROT_READ, IOMMU_PROT_WRITE, iommuAttachGroup, iommuDomainFree, iommuGroupClaimDmaOwner, iommuGroupGet,
  iommuGroupReleaseDmaOwner, iommuDetachGroup, iommuIovaToPhys, iommuMap, iommuPagingDomainAlloc, iommuSetFaultHandler, iommuUnmap,
} from '../src/drivers/iommu/iommu.ts'
import { armSmmuMasterSmendx, type ArmSmmuDomain } from '../src/drivers/iommu/arm/arm-smmu/arm-smmu.ts'
import { aarch32Regime, decodeTables } from '@vfio-sim/testkit'
import { CONTEXT_IRQ, GLOBAL_IRQ, SMMU_BASE, SZ_2M, SZ_4K, dmesgText, errOf, sysRead, sysWrite, testBoard, type TestBoard } from './arm-smmu-fixture.ts'

const RW = IOMMU_PROT_READ | IOMMU_PROT_WRITE
const GR0 = (off: number) => SMMU_BASE + off
const GR1 = (off: number) => SMMU_BASE + 0x1000 + off
const CB = (n: number, off: number) => SMMU_BASE + 0x8000 + n * 0x1000 + off
const rd = (b: TestBoard, a: number) => b.k.sys.bus.readN(a, 4) >>> 0
const rdq = (b: TestBoard, a: number) => b.k.sys.bus.read64(a)

/** A board with one master of nine stream IDs (the fvp-mmu400 PL330's). */
function nineIds(profile: 'upstream' | 'rfc-v5', driver = {}) {
  return testBoard({ profile, driver, masters: [{ name: 'dma', iommus: [[0], [1], [2], [3], [4], [5], [6], [7], [8]] }] })
}

/** Claims the master's group and attaches a fresh paging domain. */
function userDomain(b: TestBoard, i = 0): ArmSmmuDomain {
  const g = iommuGroupGet(b.dev(i))!
  iommuGroupClaimDmaOwner(g, {})
  const d = iommuPagingDomainAlloc(b.dev(i)) as ArmSmmuDomain
  iommuAttachGroup(d, g)
  return d
}

test('probe: the Linux probe log from the ID registers', () => {
  const b = nineIds('upstream')
  assert.equal(dmesgText(b.k).filter(l => l.startsWith('arm-smmu')), [
    'arm-smmu 2b400000.iommu: probing hardware configuration...',
    'arm-smmu 2b400000.iommu: SMMUv1 with:',
    'arm-smmu 2b400000.iommu: \tstage 1 translation',
    'arm-smmu 2b400000.iommu: \taddress translation ops',
    'arm-smmu 2b400000.iommu: \tcoherent table walk',
    'arm-smmu 2b400000.iommu: \tstream matching with 16 register groups',
    'arm-smmu 2b400000.iommu: \t8 context banks (0 stage-2 only)',
    'arm-smmu 2b400000.iommu: \tSupported page sizes: 0x40201000',
    'arm-smmu 2b400000.iommu: \tStage-1: 40-bit VA -> 40-bit IPA',
  ])
  assert.equal(b.k.irq.actionNames(GLOBAL_IRQ), ['arm-smmu global fault'])
  // suppress_bind_attrs: the driver directory has no bind/unbind.
  assert.equal(b.k.sysfs.readdir('bus/platform/drivers/arm-smmu'), ['2b400000.iommu', 'uevent'])
  // Without ATOS (IDR0.ATOSNS) the driver does not claim translation ops.
  const n = testBoard({ smmu: { atos: false } })
  assert.not.ok(dmesgText(n.k).includes('arm-smmu 2b400000.iommu: \taddress translation ops'))
  assert.is(n.smmu.features.transOps, false)
})

test('reset: sCR0, unused stream-map entries bypass (rfc-v5) or fault (upstream, disable_bypass), SMR mask probe', () => {
  for (const [profile, scr0, unused] of [['rfc-v5', 0x0020_1936, 0x0001_0000], ['upstream', 0x0020_1d36, 0x0002_0000]] as const) {
    const b = nineIds(profile)
    assert.is(rd(b, GR0(0)), scr0, `${profile} sCR0`)
    assert.is(b.smmu.streamidMask, 0x7fff)
    assert.is(b.smmu.smrMaskMask, 0x7fff)
    // The master's nine IDs took SMR 0..8 (VALID | ID, mask 0).
    assert.equal(armSmmuMasterSmendx(b.dev(0)), [0, 1, 2, 3, 4, 5, 6, 7, 8])
    for (let i = 0; i < 9; i++) assert.is(rd(b, GR0(0x800 + 4 * i)), (0x8000_0000 | i) >>> 0)
    // The mask probe ran on SMR 0 before any master existed; SMR 9.. stay invalid and zero.
    for (let i = 9; i < 16; i++) assert.is(rd(b, GR0(0x800 + 4 * i)), 0)
    for (let i = 9; i < 16; i++) assert.is(rd(b, GR0(0xc00 + 4 * i)), unused, `${profile} S2CR${i}`)
    // Every bank disabled.
    for (let n = 0; n < 8; n++) if (b.smmu.cbs[n] === null) assert.is(rd(b, CB(n, 0)), 0)
  }
  // The option overrides the profile default.
  const b = nineIds('upstream', { disableBypass: false })
  assert.is(rd(b, GR0(0)), 0x0020_1936)
})

test('a domain: bank, ASID, CBAR/TCR/TTBR0/TTBR1/MAIR/SCTLR as Linux writes them; attach writes S2CR', () => {
  const b = nineIds('upstream')
  // The group's default DMA domain has bank 0; the user's domain gets bank 1 (ASID 1).
  const d = userDomain(b)
  assert.is(d.cfg.cbndx, 1)
  assert.is(d.cfg.asid, 1)
  assert.is(rd(b, GR1(4 * 1)), 0x0001_f300) // TYPE S1_TRANS_S2_BYPASS | MEMATTR WB | BPSHCFG NSH | IRPTNDX 0
  assert.is(rd(b, CB(1, 0x30)), 0x8080_3520) // EAE | EPD1 | SH0 IS | ORGN0/IRGN0 WBWA | T0SZ 32
  const ttbr = d.pgtblCfg.arm_lpae_s1_cfg!.ttbr
  assert.is(rdq(b, CB(1, 0x20)), (1n << 48n) | ttbr)
  assert.is(rdq(b, CB(1, 0x28)), 1n << 48n)
  assert.is(rd(b, CB(1, 0x38)), 0xf404_ff44)
  assert.is(rd(b, CB(1, 0x3c)), 0)
  assert.is(rd(b, CB(1, 0)), 0x1067) // CFIE | CFRE | AFE | TRE | M | ASIDPNE
  for (let i = 0; i < 9; i++) assert.is(rd(b, GR0(0xc00 + 4 * i)), 0x0000_0001) // TRANS, CBNDX 1
  assert.is(b.k.irq.actionNames(CONTEXT_IRQ).filter(n => n === 'arm-smmu-context-fault').length, 2)
  // Detach → blocked (FAULT); release → default domain (TRANS to bank 0); free → bank off, IRQ freed.
  const g = iommuGroupGet(b.dev(0))!
  iommuDetachGroup(d, g)
  assert.is(rd(b, GR0(0xc00)), 0x0002_0000)
  iommuGroupReleaseDmaOwner(g)
  assert.is(rd(b, GR0(0xc00)), 0x0000_0000)
  iommuDomainFree(d)
  assert.is(rd(b, CB(1, 0)), 0)
  assert.is(b.k.irq.actionNames(CONTEXT_IRQ).filter(n => n === 'arm-smmu-context-fault').length, 1)
  assert.is(b.smmu.contextMap[1], false)
})

test('map → DMA reaches the page; unmap → TLBIVAL + TLBSYNC, then the DMA faults', () => {
  const b = nineIds('upstream')
  const d = userDomain(b)
  const pa = 0xc000_0000
  b.k.sys.memory.write32(pa + 0x10, 0xcafe_f00d)
  iommuMap(d, 0x10_0000, pa, SZ_4K, RW)
  const m = b.master(3)
  assert.is(m.read32(0x10_0010), 0xcafe_f00d)
  assert.is(iommuIovaToPhys(d, 0x10_0010), pa + 0x10)
  const inval0 = b.hw.stats.tlbInvalidations
  assert.is(iommuUnmap(d, 0x10_0000, SZ_4K), SZ_4K)
  assert.ok(b.hw.stats.tlbInvalidations > inval0)
  assert.is(m.read32(0x10_0010), undefined)
  assert.is(m.read(0x10_0010, 4).respName, 'SLVERR')
})

test('context fault in rfc-v5: the one line, without the decoded registers of Linux 6.11', () => {
  const b = nineIds('rfc-v5')
  const d = userDomain(b)
  iommuMap(d, 0x20_0000, 0xc000_0000, SZ_2M, IOMMU_PROT_READ)
  const n = b.k.dmesg().length
  assert.is(b.master(5).write32(0x20_0040, 1) !== 0, true)
  b.k.sys.scheduler.runUntilIdle()
  const lines = dmesgText(b.k).slice(n)
  assert.is(lines.length, 1, lines.join('\n'))
  assert.match(lines[0]!, /Unhandled context fault: fsr=0x8, iova=0x00200040/)
})

test('context fault: Linux dmesg line, FSR cleared; a domain fault handler silences it', () => {
  const b = nineIds('upstream')
  const d = userDomain(b)
  iommuMap(d, 0x20_0000, 0xc000_0000, SZ_2M, IOMMU_PROT_READ)
  const m = b.master(5)
  // A write to a read-only mapping: permission fault.
  assert.is(m.write32(0x20_0040, 1) !== 0, true)
  b.k.sys.scheduler.runUntilIdle()
  // FSR = PF (0x8); FSYNR0 = NSATTR (0x100) | NSSTATE (0x80) | WNR (0x10) | PLVL 2; CBFRSYNRA = stream 5.
  // Since Linux 6.11 the decoded registers follow (arm_smmu_print_context_fault_info; NSSTATE is not named there).
  assert.equal(dmesgText(b.k).slice(-3), [
    'arm-smmu 2b400000.iommu: Unhandled context fault: fsr=0x8, iova=0x00200040, fsynr=0x192, cbfrsynra=0x5, cb=1',
    'arm-smmu 2b400000.iommu: FSR    = 00000008 [Format=0 PF], SID=0x5',
    'arm-smmu 2b400000.iommu: FSYNR0 = 00000192 [S1CBNDX=0 NSATTR WNR PLVL=2]',
  ])
  assert.is(rd(b, CB(1, 0x58)), 0)
  // A translation fault (nothing mapped), read.
  assert.is(m.read32(0x4000_0000), undefined)
  b.k.sys.scheduler.runUntilIdle()
  assert.equal(dmesgText(b.k).slice(-3), [
    'arm-smmu 2b400000.iommu: Unhandled context fault: fsr=0x2, iova=0x40000000, fsynr=0x181, cbfrsynra=0x5, cb=1',
    'arm-smmu 2b400000.iommu: FSR    = 00000002 [Format=0 TF], SID=0x5',
    'arm-smmu 2b400000.iommu: FSYNR0 = 00000181 [S1CBNDX=0 NSATTR PLVL=1]',
  ])
  assert.is(rd(b, CB(1, 0x58)), 0)
  // With a fault handler that takes it, nothing is logged but FSR is still cleared.
  const seen: string[] = []
  iommuSetFaultHandler(d, (_dom, iova, flags) => (seen.push(`${iova.toString(16)} ${flags}`), true))
  const n = b.k.dmesg().length
  m.write32(0x20_0000, 1)
  b.k.sys.scheduler.runUntilIdle()
  assert.equal(seen, ['200000 write'])
  assert.is(b.k.dmesg().length, n)
  assert.is(rd(b, CB(1, 0x58)), 0)
})

test('context faults are rate limited as dev_err_ratelimited (10 per 5 s)', () => {
  const b = nineIds('upstream')
  userDomain(b)
  const m = b.master(0)
  for (let i = 0; i < 15; i++) {
    m.read32(0x1000 * i)
    b.k.sys.scheduler.runUntilIdle()
  }
  assert.is(dmesgText(b.k).filter(l => l.includes('Unhandled context fault')).length, 10)
})

test('global fault: an unmatched stream with disable_bypass → "Blocked unknown Stream ID", sGFSR cleared', () => {
  const b = nineIds('upstream')
  const m = b.master(0x42)
  assert.is(m.read32(0x8000_0000), undefined)
  b.k.sys.scheduler.runUntilIdle()
  const log = dmesgText(b.k)
  assert.is(log.at(-2), 'arm-smmu 2b400000.iommu: Blocked unknown Stream ID 0x42; boot with "arm-smmu.disable_bypass=0" to allow, but this may have security implications')
  // sGFSYNR0: NSATTR (0x20) | NSSTATE (0x10) of a non-secure read.
  assert.is(log.at(-1), 'arm-smmu 2b400000.iommu: \tGFSR 0x00000002, GFSYNR0 0x00000030, GFSYNR1 0x00000042, GFSYNR2 0x00000000')
  assert.is(rd(b, GR0(0x48)), 0)
  // rfc-v5: unmatched streams bypass, no fault.
  const o = nineIds('rfc-v5')
  o.k.sys.memory.write32(0x8800_0000, 7)
  assert.is(o.master(0x42).read32(0x8800_0000), 7)
})

test('fault injection: without TLB invalidation on unmap, a DMA still hits the old page (stale TLB)', () => {
  for (const skip of [false, true]) {
    const b = nineIds('upstream', { skipTlbInvalidateOnUnmap: skip })
    const d = userDomain(b)
    const oldPa = 0xc000_0000
    const newPa = 0xc010_0000
    b.k.sys.memory.write32(oldPa, 0x01d)
    b.k.sys.memory.write32(newPa, 0x7e5)
    iommuMap(d, 0x40_0000, oldPa, SZ_4K, RW)
    const m = b.master(1)
    assert.is(m.read32(0x40_0000), 0x01d) // fills the TLB
    assert.is(iommuUnmap(d, 0x40_0000, SZ_4K), SZ_4K)
    iommuMap(d, 0x40_0000, newPa, SZ_4K, RW)
    // Correct driver: the new page; with the bug: the stale translation to the old page.
    assert.is(m.read32(0x40_0000), skip ? 0x01d : 0x7e5, `skip=${skip}`)
    // The descriptors in RAM say the new page either way (ATOS walks the same TLB, so ask the tables).
    assert.is(d.pgtblOps!.iovaToPhys(0x40_0000), newPa)
  }
})

test('module parameters: disable_bypass/force_stage (upstream, 0444) and the runtime stale-TLB knob', () => {
  const b = nineIds('upstream')
  assert.is(sysRead(b.k, 'module/arm_smmu/parameters/disable_bypass'), 'Y\n')
  assert.is(sysRead(b.k, 'module/arm_smmu/parameters/force_stage'), '0\n')
  assert.equal(b.k.sysfs.readdir('module/arm_smmu/parameters'), ['disable_bypass', 'force_stage', 'vfio_sim_skip_tlb_invalidate'])
  assert.equal(nineIds('rfc-v5').k.sysfs.readdir('module/arm_smmu/parameters'), ['vfio_sim_skip_tlb_invalidate'])
  const knob = 'module/arm_smmu/parameters/vfio_sim_skip_tlb_invalidate'
  assert.is(sysRead(b.k, knob), 'N\n')
  assert.is(sysWrite(b.k, knob, 'maybe'), 'EINVAL')
  assert.is(sysWrite(b.k, knob, '1\n'), 2)
  assert.is(sysRead(b.k, knob), 'Y\n')
  // Now an unmap leaves the TLB entry: the DMA still reaches the unmapped page.
  const d = userDomain(b)
  b.k.sys.memory.write32(0xc000_0000, 0xabc)
  iommuMap(d, 0x1000, 0xc000_0000, SZ_4K, RW)
  const m = b.master(2)
  assert.is(m.read32(0x1000), 0xabc)
  iommuUnmap(d, 0x1000, SZ_4K)
  assert.is(m.read32(0x1000), 0xabc)
  // Back to correct behaviour: the next unmap invalidates.
  assert.is(sysWrite(b.k, knob, 'n'), 1)
  iommuMap(d, 0x2000, 0xc000_0000, SZ_4K, RW)
  assert.is(m.read32(0x2000), 0xabc)
  iommuUnmap(d, 0x2000, SZ_4K)
  assert.is(m.read32(0x2000), undefined)
})

test('iommu_map/unmap: alignment (EINVAL / 0 with the pr_err line), page-size split, all-or-nothing map', () => {
  const b = nineIds('upstream')
  const d = userDomain(b)
  const n = b.k.dmesg().length
  assert.is(errOf(() => iommuMap(d, 0x1001, 0xc000_0000, SZ_4K, RW)), 'EINVAL')
  assert.is(errOf(() => iommuMap(d, 0x1000, 0xc000_0800, SZ_4K, RW)), 'EINVAL')
  assert.is(iommuUnmap(d, 0x1000, 0x800), 0)
  assert.equal(dmesgText(b.k).slice(n), [
    'iommu: unaligned: iova 0x1001 pa 0x00000000c0000000 size 0x1000 min_pagesz 0x1000',
    'iommu: unaligned: iova 0x1000 pa 0x00000000c0000800 size 0x1000 min_pagesz 0x1000',
    'iommu: unaligned: iova 0x1000 size 0x800 min_pagesz 0x1000',
  ])
  // 4K up to the 2M boundary, one 2M block, then 4K pages: 3 leaves of the right sizes.
  iommuMap(d, 0x1f_f000, 0xc01f_f000, SZ_4K + SZ_2M + SZ_4K, RW)
  const leaves = () => decodeTables(b.k.sys.memory, aarch32Regime({ oasBits: 40 }), d.pgtblCfg.arm_lpae_s1_cfg!.ttbr).mappings.map(m => [m.va, m.size])
  assert.equal(leaves(), [[0x1f_f000, SZ_4K], [0x20_0000, SZ_2M], [0x40_0000, SZ_4K]])
  // A map whose second piece (a 2M block) hits an existing block fails with EEXIST;
  // the core unmaps the 4K page it had already mapped.
  iommuMap(d, 0x80_0000, 0xc080_0000, SZ_2M, RW)
  assert.is(errOf(() => iommuMap(d, 0x7f_f000, 0xc100_0000 - SZ_4K, SZ_4K + SZ_2M, RW)), 'EEXIST')
  assert.equal(leaves(), [[0x1f_f000, SZ_4K], [0x20_0000, SZ_2M], [0x40_0000, SZ_4K], [0x80_0000, SZ_2M]])
  // Unmap stops at the first hole: [0x1f_e000, +8K) starts on one, so nothing.
  assert.is(iommuUnmap(d, 0x1f_e000, 2 * SZ_4K), 0)
  assert.is(iommuUnmap(d, 0x1f_f000, SZ_4K + SZ_2M + SZ_4K), SZ_4K + SZ_2M + SZ_4K)
  assert.is(iommuUnmap(d, 0x80_0000, SZ_2M), SZ_2M)
  assert.equal(leaves(), [])
})

test('iova_to_phys: ATOS (PAR) and the software walk agree; unmapped → 0 with "translation fault!"', () => {
  for (const atos of [true, false]) {
    const b = testBoard({ smmu: { atos } })
    const d = userDomain(b)
    iommuMap(d, 0x4000_0000, 0xc000_0000, 0x4000_0000, RW)
    iommuMap(d, 0x1000, 0xc123_4000, SZ_4K, IOMMU_PROT_READ)
    assert.is(iommuIovaToPhys(d, 0x4567_89ab), 0xc567_89ab)
    assert.is(iommuIovaToPhys(d, 0x1abc), 0xc123_4abc)
    // Beyond the 32-bit input range (VA[31:0] would alias 0x1abc): nothing.
    assert.is(iommuIovaToPhys(d, 0x1_0000_1abc), 0)
    const n = b.k.dmesg().length
    assert.is(iommuIovaToPhys(d, 0x2000), 0)
    assert.equal(dmesgText(b.k).slice(n).map(l => l.replace(/PAR = 0x[0-9a-f]+/, 'PAR = …')), atos
      ? ['arm-smmu 2b400000.iommu: translation fault!', 'arm-smmu 2b400000.iommu: PAR = …']
      : [])
  }
})

test.run()
