// The VFIO core over the board's real IOMMU stack (IOMMU core + arm-smmu
// driving the MMU-400 model): the vfio.rst sequence maps through the SMMU's
// page tables, DMA ownership follows SET_CONTAINER / close, and groups of one
// container share a context bank.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  VFIO_API_VERSION,
  VFIO_CHECK_EXTENSION,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_GET_API_VERSION,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  vfio_iommu_type1_dma_map,
  vfio_iommu_type1_dma_unmap,
} from '@vfio-sim/uapi'
import { iommuGetDomainForDev, iommuGroupGet, iommuIovaToPhys } from '@vfio-sim/kernel'
import { cstring, DMA0, errno, int32, O_RDWR, u32s, vfioRig } from './vfio-core-fixture.ts'

const PROFILES = ['rfc-v5', 'upstream'] as const

for (const profile of PROFILES) {
  test(`${profile}: vfio.rst sequence on fvp-mmu400 with arm-smmu: MAP_DMA lands in the group's own SMMU domain; close gives the default domain back`, () => {
    const rig = vfioRig(profile, 'fvp-mmu400', { realIommu: true })
    assert.is(rig.iommu, undefined)
    const p = rig.root
    const dev = rig.dev(DMA0)
    rig.bindVfio(DMA0)
    if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
    const ig = iommuGroupGet(dev)!
    const defaultDomain = ig.defaultDomain
    const container = p.open('/dev/vfio/vfio', O_RDWR)
    assert.is(p.ioctl(container, VFIO_GET_API_VERSION), VFIO_API_VERSION)
    assert.is(p.ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1)
    const group = p.open(`/dev/vfio/${ig.id}`, O_RDWR)
    const st = u32s(8, 0)
    p.ioctl(group, VFIO_GROUP_GET_STATUS, st)
    assert.is(new DataView(st.buffer).getUint32(4, true), VFIO_GROUP_FLAGS_VIABLE)
    p.ioctl(group, VFIO_GROUP_SET_CONTAINER, int32(container))
    const domain = iommuGetDomainForDev(dev)!
    assert.is(domain.type, 'UNMANAGED')
    assert.ok(domain !== defaultDomain)
    p.ioctl(container, VFIO_SET_IOMMU, profile === 'upstream' ? VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU)
    const size = 0x10_0000
    const vaddr = p.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    p.write32(vaddr + 0x3004, 0x1234_5678)
    const map = vfio_iommu_type1_dma_map.encode({ argsz: 32, flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, vaddr: BigInt(vaddr), iova: 0n, size: BigInt(size) })
    assert.is(p.ioctl(container, VFIO_IOMMU_MAP_DMA, map), 0)
    const phys = iommuIovaToPhys(domain, 0x3004)
    assert.ok(phys !== 0)
    const b = new Uint8Array(4)
    rig.m.kernel.sys.memory.read(phys, b, 0, 4)
    assert.is(new DataView(b.buffer).getUint32(0, true), 0x1234_5678)
    const d = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstring(DMA0))
    assert.ok(d > group)
    // Unmap, then close everything: the SMMU domain is freed, ownership released.
    const unmap = vfio_iommu_type1_dma_unmap.encode({ argsz: 24, flags: 0, iova: 0n, size: BigInt(size) })
    assert.is(p.ioctl(container, VFIO_IOMMU_UNMAP_DMA, unmap), 0)
    assert.is(iommuIovaToPhys(domain, 0x3004), 0)
    p.close(d)
    p.close(group)
    p.close(container)
    assert.is(iommuGetDomainForDev(dev), defaultDomain)
    assert.ok(domain.freed)
    assert.is(ig.ownerCnt, 0)
    // The kernel driver can have the device back.
    rig.bindKernel(DMA0)
    assert.is(dev.driver?.name, 'dma-pl330')
  })

  test(`${profile}: shared-group board with arm-smmu: a sibling on dma-pl330 makes the group non-viable`, () => {
    const rig = vfioRig(profile, 'fvp-mmu400-shared-group', { realIommu: true })
    const p = rig.root
    rig.bindVfio('2c0a0000.dma')
    if (profile === 'upstream') p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y')
    const c = p.open('/dev/vfio/vfio', O_RDWR)
    const g = p.open(`/dev/vfio/${rig.groupId('2c0a0000.dma')}`, O_RDWR)
    const st = u32s(8, 0xff)
    p.ioctl(g, VFIO_GROUP_GET_STATUS, st)
    assert.is(new DataView(st.buffer).getUint32(4, true), 0)
    if (profile === 'upstream') {
      assert.is(errno(() => p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))), 'EPERM')
    } else {
      p.ioctl(g, VFIO_GROUP_SET_CONTAINER, int32(c))
      p.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)
      assert.is(errno(() => p.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstring('2c0a0000.dma'))), 'EINVAL')
      // The kernel driver keeps its default domain meanwhile.
      const dev1 = rig.dev('2c0b0000.dma')
      assert.is(iommuGetDomainForDev(dev1), iommuGroupGet(dev1)!.defaultDomain)
    }
  })
}

test.run()
