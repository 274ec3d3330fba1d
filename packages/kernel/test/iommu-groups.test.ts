/**
 * IOMMU core: group numbering (IDA), membership from `iommus` stream IDs
 * (shared stream-map entries share a group), the sysfs group files, DMA
 * ownership (spec bus.md §4.6, §7), domains, capabilities per profile and
 * reserved regions. Expected values come from the spec and Linux
 * drivers/iommu/iommu.c + arm-smmu.c, not from the code under test.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PlatformDevice, type PlatformBus } from '../src/drivers/base/platform.ts'
import { deviceAdd, deviceDel } from '../src/drivers/base/bus.ts'
import {
  deviceIommuCapable, iommuAttachGroup, iommuDetachGroup, iommuDomainFree, iommuGetGroupResvRegions, iommuGroupAlloc,
  iommuGroupClaimDmaOwner, iommuGroupDmaOwnerClaimed, iommuGroupGet, iommuGroupReleaseDmaOwner, iommuGroups,
  iommuPagingDomainAlloc, iommuSubsysInit,
} from '../src/drivers/iommu/iommu.ts'
import { armSmmuInit } from '../src/drivers/iommu/arm/arm-smmu/arm-smmu.ts'
import { driverCore } from '../src/drivers/base/core.ts'
import { readFileSync } from 'node:fs'
import {
  dmesgText, errOf, kernelDriver, registerDriver, sysLink, sysRead, sysWrite, testBoard, testBoardFromDts, userDriver,
} from './arm-smmu-fixture.ts'

/** A board of packages/machine, read as data (the .dts text). */
const boardDts = (name: string) => readFileSync(new URL(`../../machine/src/boards/${name}.dts`, import.meta.url), 'utf8')

const S2CR = (n: number) => 0x2b40_0000 + 0xc00 + 4 * n
const SMR = (n: number) => 0x2b40_0000 + 0x800 + 4 * n

test('groups are numbered from 0 in device order; sysfs links both ways; log lines', () => {
  const b = testBoard({ masters: [{ name: 'a', iommus: [[3]] }, { name: 'b', iommus: [[5]] }, { name: 'c', iommus: [[7], [8]] }] })
  const { k } = b
  assert.equal(b.devs.map(d => iommuGroupGet(d)?.id), [0, 1, 2])
  assert.equal(k.sysfs.readdir('kernel/iommu_groups'), ['0', '1', '2'])
  assert.equal(k.sysfs.readdir('kernel/iommu_groups/2'), ['devices', 'reserved_regions', 'type'])
  assert.is(sysLink(k, 'devices/platform/soc/2c000000.master/iommu_group'), '../../../../kernel/iommu_groups/0')
  assert.is(sysLink(k, 'kernel/iommu_groups/1/devices/2c001000.master'), '../../../../devices/platform/soc/2c001000.master')
  const adds = dmesgText(k).filter(l => l.includes('iommu group'))
  assert.equal(adds, [
    'platform 2c000000.master: Adding to iommu group 0',
    'platform 2c001000.master: Adding to iommu group 1',
    'platform 2c002000.master: Adding to iommu group 2',
  ])
})

test('the iommu class device: /sys/class/iommu/smmu.0x000000002b400000, devices/ links, <dev>/iommu', () => {
  const b = testBoard({ masters: [{ name: 'a', iommus: [[3]] }, { name: 'b', iommus: [[5]] }] })
  const { k } = b
  const dir = 'devices/platform/soc/2b400000.iommu/iommu/smmu.0x000000002b400000'
  assert.is(sysLink(k, 'class/iommu/smmu.0x000000002b400000'), '../../devices/platform/soc/2b400000.iommu/iommu/smmu.0x000000002b400000')
  assert.equal(k.sysfs.readdir(`${dir}/devices`), ['2c000000.master', '2c001000.master'])
  assert.is(sysLink(k, `${dir}/devices/2c001000.master`), '../../../../2c001000.master')
  assert.is(sysLink(k, 'devices/platform/soc/2c000000.master/iommu'), '../2b400000.iommu/iommu/smmu.0x000000002b400000')
  deviceDel(b.dev(1))
  assert.equal(k.sysfs.readdir(`${dir}/devices`), ['2c000000.master'])
})

test('IDA: a freed group number is reused by the next new group (lowest free first)', () => {
  const b = testBoard({ masters: [{ name: 'a', iommus: [[3]] }, { name: 'b', iommus: [[5]] }, { name: 'c', iommus: [[7]] }] })
  const { k } = b
  const mid = b.dev(1)
  deviceDel(mid)
  assert.is(iommuGroupGet(mid), null)
  assert.equal(k.sysfs.readdir('kernel/iommu_groups'), ['0', '2'])
  assert.ok(dmesgText(k).includes('platform 2c001000.master: Removing from iommu group 1'))
  // The same node comes back as a new device: it takes number 1 again.
  const again = new PlatformDevice(mid.name, mid.bus as PlatformBus, mid.parentPath, mid.ofNode, mid.resources)
  assert.is(deviceAdd(again), 0)
  assert.is(iommuGroupGet(again)?.id, 1)
  assert.is(iommuGroupAlloc(k).id, 3)
})

test('masters whose stream IDs fall in one SMR share a group (fvp-mmu400-shared-group layout)', () => {
  for (const profile of ['upstream', 'rfc-v5'] as const) {
    const b = testBoard({ profile, iommuCells: 2, masters: [{ name: 'a', iommus: [[0x00, 0x1f]] }, { name: 'b', iommus: [[0x10, 0x1f]] }] })
    const g = iommuGroupGet(b.dev(0))!
    assert.is(iommuGroupGet(b.dev(1)), g)
    assert.equal(g.devices.map(d => d.name), ['2c000000.master', '2c001000.master'])
    assert.equal(b.k.sysfs.readdir(`kernel/iommu_groups/${g.id}/devices`), ['2c000000.master', '2c001000.master'])
    // One SMR: VALID | MASK 0x1f | ID 0; the second master reuses it.
    assert.is(b.k.sys.bus.readN(SMR(0), 4) >>> 0, 0x801f_0000)
    assert.is(b.k.sys.bus.readN(SMR(1), 4) >>> 0 & 0x8000_0000, 0)
    // Upstream: default DMA domain → S2CR TRANS to bank 0; rfc-v5: identity → BYPASS.
    assert.is(b.k.sys.bus.readN(S2CR(0), 4) >>> 0, profile === 'upstream' ? 0x0000_0000 : 0x0001_0000)
  }
})

test('identical stream IDs share a group; partial SMR overlap or two groups → no group', () => {
  const b = testBoard({ masters: [{ name: 'a', iommus: [[3]] }, { name: 'b', iommus: [[3]] }] })
  assert.is(iommuGroupGet(b.dev(0)), iommuGroupGet(b.dev(1)))
  // b's (ID 8, MASK 0x1f) overlaps a's (0, 0xf) only partly: arm_smmu_find_sme → -EINVAL.
  const p = testBoard({ iommuCells: 2, masters: [{ name: 'a', iommus: [[0, 0xf]] }, { name: 'b', iommus: [[8, 0x1f]] }] })
  assert.ok(iommuGroupGet(p.dev(0)) !== null)
  assert.is(iommuGroupGet(p.dev(1)), null)
  assert.is(sysLink(p.k, 'devices/platform/soc/2c001000.master/iommu_group'), undefined)
  // c's two IDs already belong to two different groups: arm_smmu_device_group → -EINVAL.
  const t = testBoard({ masters: [{ name: 'a', iommus: [[1]] }, { name: 'b', iommus: [[2]] }, { name: 'c', iommus: [[1], [2]] }] })
  assert.is(iommuGroupGet(t.dev(2)), null)
  assert.equal(iommuGroups(t.k).map(g => g.id), [0, 1])
})

test('stream ID or mask outside what the SMR holds is refused with the Linux message', () => {
  const b = testBoard({ smmu: { streamIdBits: 4 }, iommuCells: 2, masters: [{ name: 'a', iommus: [[0x10, 0]] }, { name: 'b', iommus: [[1, 0x20]] }] })
  assert.is(iommuGroupGet(b.dev(0)), null)
  assert.is(iommuGroupGet(b.dev(1)), null)
  const log = dmesgText(b.k)
  assert.ok(log.includes('platform 2c000000.master: stream ID 0x10 out of range for SMMU (0xf)'), log.join('\n'))
  assert.ok(log.includes('platform 2c001000.master: SMR mask 0x20 out of range for SMMU (0xf)'), log.join('\n'))
})

test('type shows the default domain (DMA upstream, identity rfc-v5 or iommu.passthrough); reserved_regions the SW MSI window', () => {
  assert.is(sysRead(testBoard().k, 'kernel/iommu_groups/0/type'), 'DMA\n')
  assert.is(sysRead(testBoard({ profile: 'rfc-v5' }).k, 'kernel/iommu_groups/0/type'), 'identity\n')
  assert.is(sysRead(testBoard({ defaultDomainType: 'IDENTITY' }).k, 'kernel/iommu_groups/0/type'), 'identity\n')
  const b = testBoard()
  assert.is(sysRead(b.k, 'kernel/iommu_groups/0/reserved_regions'), '0x0000000008000000 0x00000000080fffff msi\n')
  assert.equal(iommuGetGroupResvRegions(iommuGroupGet(b.dev(0))!), [{ start: 0x0800_0000, length: 0x10_0000, prot: 2 | 8 | 16, type: 'sw-msi' }])
  // Two devices in one group: the identical regions merge into one line.
  const s = testBoard({ masters: [{ name: 'a', iommus: [[3]] }, { name: 'b', iommus: [[3]] }] })
  assert.is(sysRead(s.k, 'kernel/iommu_groups/0/reserved_regions'), '0x0000000008000000 0x00000000080fffff msi\n')
  assert.ok(dmesgText(b.k).includes('iommu: Default domain type: Translated'))
})

test('type store: EINVAL for unknown values, EPERM while a kernel driver uses the group, else switches', () => {
  const b = testBoard()
  const { k } = b
  assert.is(sysWrite(k, 'kernel/iommu_groups/0/type', 'bogus\n'), 'EINVAL')
  assert.is(sysWrite(k, 'kernel/iommu_groups/0/type', 'identity\n'), 9)
  assert.is(sysRead(k, 'kernel/iommu_groups/0/type'), 'identity\n')
  assert.is(k.sys.bus.readN(S2CR(0), 4) >>> 0, 0x0001_0000)
  assert.is(registerDriver(k, kernelDriver()), 0)
  assert.is(sysWrite(k, 'kernel/iommu_groups/0/type', 'DMA'), 'EPERM')
})

test('ownership: a kernel driver makes the group claimed; a user claim is EPERM (v5.19+)', () => {
  const b = testBoard()
  const { k } = b
  const g = iommuGroupGet(b.dev(0))!
  assert.is(g.ownerCnt, 0)
  assert.not.ok(iommuGroupDmaOwnerClaimed(g))
  assert.is(registerDriver(k, kernelDriver()), 0)
  assert.is(sysLink(k, 'devices/platform/soc/2c000000.master/driver'), '../../../../bus/platform/drivers/test-dma')
  assert.is(g.ownerCnt, 1)
  assert.ok(iommuGroupDmaOwnerClaimed(g))
  const user = {}
  assert.is(errOf(() => iommuGroupClaimDmaOwner(g, user)), 'EPERM')
  assert.is(g.owner, null)
  // Unbinding drops the count; now the user may claim.
  assert.is(sysWrite(k, 'bus/platform/drivers/test-dma/unbind', '2c000000.master'), 15)
  assert.is(g.ownerCnt, 0)
  assert.is(errOf(() => iommuGroupClaimDmaOwner(g, user)), 'ok')
  assert.is(g.owner, user)
  assert.is(g.ownerCnt, 1)
  assert.ok(iommuGroupDmaOwnerClaimed(g))
  // The blocked domain: the stream now faults (S2CR TYPE = FAULT).
  assert.is(g.domain?.type, 'BLOCKED')
  assert.is(k.sys.bus.readN(S2CR(0), 4) >>> 0, 0x0002_0000)
  // A second claim (same or other owner) is EPERM.
  assert.is(errOf(() => iommuGroupClaimDmaOwner(g, {})), 'EPERM')
  // A kernel driver cannot bind to a user-owned group: EBUSY from dma_configure.
  assert.is(sysWrite(k, 'bus/platform/drivers/test-dma/bind', '2c000000.master'), 'EBUSY')
  // A driver_managed_dma driver (vfio-platform) can.
  assert.is(registerDriver(k, userDriver()), 0)
  assert.is(sysWrite(k, 'devices/platform/soc/2c000000.master/driver_override', 'vfio-platform'), 13)
  assert.is(sysWrite(k, 'bus/platform/drivers/vfio-platform/bind', '2c000000.master'), 15)
  assert.is(g.ownerCnt, 1)
  // Release: back to the default domain, the count drops to 0.
  iommuGroupReleaseDmaOwner(g)
  assert.is(g.owner, null)
  assert.is(g.ownerCnt, 0)
  assert.is(g.domain, g.defaultDomain)
  assert.is(k.sys.bus.readN(S2CR(0), 4) >>> 0, 0x0000_0000)
  // Releasing an unowned group changes nothing.
  iommuGroupReleaseDmaOwner(g)
  assert.is(g.ownerCnt, 0)
})

test('ownership on a shared group: one kernel-bound member keeps the whole group from a user', () => {
  const b = testBoard({ masters: [{ name: 'a', iommus: [[3]] }, { name: 'b', iommus: [[3]] }] })
  const { k } = b
  assert.is(registerDriver(k, kernelDriver()), 0)
  const g = iommuGroupGet(b.dev(0))!
  assert.is(g.ownerCnt, 2)
  assert.is(sysWrite(k, 'bus/platform/drivers/test-dma/unbind', '2c000000.master'), 15)
  assert.is(errOf(() => iommuGroupClaimDmaOwner(g, {})), 'EPERM')
  assert.is(sysWrite(k, 'bus/platform/drivers/test-dma/unbind', '2c001000.master'), 15)
  assert.is(errOf(() => iommuGroupClaimDmaOwner(g, {})), 'ok')
})

test('domains: paging domain geometry and page sizes; attach/detach rules', () => {
  const b = testBoard({ masters: [{ name: 'a', iommus: [[3]] }, { name: 'b', iommus: [[5]] }] })
  const g = iommuGroupGet(b.dev(0))!
  const g1 = iommuGroupGet(b.dev(1))!
  const d = iommuPagingDomainAlloc(b.dev(0))
  assert.is(d.type, 'UNMANAGED')
  assert.is(d.pgsizeBitmap, 0x4020_1000n)
  assert.equal(d.geometry, { apertureStart: 0, apertureEnd: 0xffff_ffff, forceAperture: true })
  iommuGroupClaimDmaOwner(g, {})
  iommuAttachGroup(d, g)
  assert.is(g.domain, d)
  const d2 = iommuPagingDomainAlloc(b.dev(0))
  // Already attached to a domain that is neither default nor blocking: EBUSY.
  assert.is(errOf(() => iommuAttachGroup(d2, g)), 'EBUSY')
  // A second group may share the domain.
  iommuGroupClaimDmaOwner(g1, {})
  iommuAttachGroup(d, g1)
  assert.is(g1.domain, d)
  // Detach of an owned group goes to the blocking domain.
  iommuDetachGroup(d, g)
  assert.is(g.domain?.type, 'BLOCKED')
  iommuAttachGroup(d2, g)
  assert.is(g.domain, d2)
  iommuDetachGroup(d2, g)
  iommuDetachGroup(d, g1)
  iommuGroupReleaseDmaOwner(g)
  iommuGroupReleaseDmaOwner(g1)
  iommuDomainFree(d)
  iommuDomainFree(d2)
  // A freed domain cannot be attached.
  assert.is(errOf(() => iommuAttachGroup(d, g)), 'EINVAL')
})

test('context banks run out: ENOSPC', () => {
  const b = testBoard({ smmu: { contextBanks: 2 }, defaultDomainType: 'IDENTITY' })
  const a = iommuPagingDomainAlloc(b.dev(0))
  const c = iommuPagingDomainAlloc(b.dev(0))
  assert.is(errOf(() => iommuPagingDomainAlloc(b.dev(0))), 'ENOSPC')
  iommuDomainFree(a)
  iommuDomainFree(iommuPagingDomainAlloc(b.dev(0)))
  iommuDomainFree(c)
})

test('capabilities per profile: rfc-v5 DMA_EXEC, upstream NOEXEC; CACHE_COHERENCY from dma-coherent', () => {
  const up = testBoard()
  assert.equal(['CACHE_COHERENCY', 'NOEXEC', 'DMA_EXEC', 'ENFORCE_CACHE_COHERENCY'].map(c => deviceIommuCapable(up.dev(0), c as 'NOEXEC')), [true, true, false, false])
  const old = testBoard({ profile: 'rfc-v5' })
  assert.equal(['CACHE_COHERENCY', 'NOEXEC', 'DMA_EXEC', 'ENFORCE_CACHE_COHERENCY'].map(c => deviceIommuCapable(old.dev(0), c as 'NOEXEC')), [true, false, true, false])
  // Without the DT's dma-coherent the firmware says non-coherent (it overrides IDR0.CTTW).
  const nc = testBoard({ coherent: false })
  assert.not.ok(deviceIommuCapable(nc.dev(0), 'CACHE_COHERENCY'))
  const log = dmesgText(nc.k)
  assert.ok(log.includes('arm-smmu 2b400000.iommu: \tnon-coherent table walk'))
  assert.ok(log.includes('arm-smmu 2b400000.iommu: \t(IDR0.CTTW overridden by FW configuration)'))
})

test('the fvp-mmu400-shared-group board: both PL330s in group 0; fvp-mmu400: one group for nine stream IDs', () => {
  for (const profile of ['upstream', 'rfc-v5'] as const) {
    const b = testBoardFromDts(boardDts('fvp-mmu400-shared-group'), { profile })
    assert.equal(b.devs.map(d => d.name), ['2c0a0000.dma', '2c0b0000.dma'])
    assert.equal(b.devs.map(d => iommuGroupGet(d)?.id), [0, 0])
    assert.equal(b.k.sysfs.readdir('kernel/iommu_groups'), ['0'])
    assert.equal(b.k.sysfs.readdir('kernel/iommu_groups/0/devices'), ['2c0a0000.dma', '2c0b0000.dma'])
    const one = testBoardFromDts(boardDts('fvp-mmu400'), { profile })
    assert.equal(one.devs.map(d => iommuGroupGet(d)?.devices.length), [1])
    assert.is(sysLink(one.k, 'devices/platform/soc/2c0a0000.dma/iommu_group'), '../../../../kernel/iommu_groups/0')
  }
})

test('a master probed before its SMMU has a driver defers, then binds once arm-smmu registers', () => {
  const b = testBoard({ noDriver: true })
  const { k } = b
  iommuSubsysInit(k)
  assert.is(registerDriver(k, kernelDriver()), 0)
  assert.is(b.dev(0).driver, null)
  assert.equal(driverCore(k).deferredPending.map(d => d.name), ['2c000000.master'])
  assert.is(iommuGroupGet(b.dev(0)), null)
  assert.is(armSmmuInit(k), 0)
  assert.is(b.dev(0).driver?.name, 'test-dma')
  assert.is(iommuGroupGet(b.dev(0))?.ownerCnt, 1)
  assert.equal(driverCore(k).deferredPending, [])
})

test('boot is deterministic: two boots give the same log, groups and SMMU registers', () => {
  const regs = (k: ReturnType<typeof testBoard>['k']) => Array.from({ length: 0x1000 / 4 }, (_, i) => k.sys.bus.readN(0x2b40_0000 + 4 * i, 4))
  for (const profile of ['upstream', 'rfc-v5'] as const) {
    const a = testBoardFromDts(boardDts('fvp-mmu400-shared-group'), { profile })
    const b = testBoardFromDts(boardDts('fvp-mmu400-shared-group'), { profile })
    assert.equal(a.k.dmesg(), b.k.dmesg())
    assert.equal(regs(a.k), regs(b.k))
  }
})

test.run()
