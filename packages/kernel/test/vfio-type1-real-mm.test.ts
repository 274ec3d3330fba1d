// The type1 backend on the kernel's real address space (mm/mmap.ts UserMm,
// spawnTask), not the fake: pinning, locked_vm, copy to/from user, PFNMAP
// device memory. Checks that MmStruct satisfies the VfioUserMm contract.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_RDWR, PROT_READ, PROT_WRITE,
  VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU,
  vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_unmap,
} from '@vfio-sim/uapi'
import { Kernel } from '../src/kernel.ts'
import { isKernelError } from '../src/errno.ts'
import { spawnTask } from '../src/kernel/fork.ts'
import { remapPfnRange } from '../src/mm/vma.ts'
import { sysOpen } from '../src/fs/open.ts'
import { sysMmap } from '../src/syscalls/index.ts'
import { VfioContainer } from '../src/drivers/vfio/container.ts'
import { vfioTask } from '../src/drivers/vfio/vfio_task.ts'
import { FakeDomain } from './vfio-type1-fakes.ts'

const PG = 4096
const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE

function errno(fn: () => number): number | string {
  try {
    return fn()
  } catch (e) {
    if (isKernelError(e)) return e.code
    throw e
  }
}

function boot(caps?: 'none') {
  const k = new Kernel()
  k.sys.bus.addRam('dram', 0x8000_0000, 0x100_0000)
  k.devfs.add('mmio', { mode: 0o666, uid: 0, gid: 0, open: () => ({ mmap: (_f, vma) => remapPfnRange(vma, 0x2c0a_0000, vma.length) }) })
  const t = spawnTask(k, caps === 'none' ? { uid: 1000, rlimits: { memlock: 2 * PG } } : {})
  const arg = sysMmap(k, t, 0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  const buf = sysMmap(k, t, 0, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
  const dom = new FakeDomain()
  const c = new VfioContainer({ profile: 'upstream' })
  c.attachGroup({ id: 1, domain: dom })
  c.ioctl(vfioTask(t), VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
  const mapIoctl = (vaddr: number, iova: number, size: number): number | string => {
    t.mm.copyToUser(arg, vfio_iommu_type1_dma_map.encode({ argsz: 32, flags: RW, vaddr: BigInt(vaddr), iova: BigInt(iova), size: BigInt(size) }))
    return errno(() => c.ioctl(vfioTask(t), VFIO_IOMMU_MAP_DMA, arg))
  }
  const unmapIoctl = (iova: number, size: number): number | string => {
    t.mm.copyToUser(arg, vfio_iommu_type1_dma_unmap.encode({ argsz: 24, flags: 0, iova: BigInt(iova), size: BigInt(size) }))
    return errno(() => c.ioctl(vfioTask(t), VFIO_IOMMU_UNMAP_DMA, arg))
  }
  return { k, t, c, dom, arg, buf, mapIoctl, unmapIoctl }
}

test('MAP pins real pages, maps their physical addresses, charges locked_vm; UNMAP undoes it', () => {
  const { t, dom, buf, mapIoctl, unmapIoctl, arg } = boot()
  assert.is(mapIoctl(buf, 0x10_0000, 4 * PG), 0)
  assert.is(t.mm.lockedVm, 4)
  assert.is(dom.entries.size, 4)
  for (const [, e] of dom.entries) assert.ok(e.phys >= 0x8000_0000 && e.phys < 0x8100_0000, 'DRAM page')
  assert.is(unmapIoctl(0x10_0000, 4 * PG), 0)
  assert.is(vfio_iommu_type1_dma_unmap.decode(t.mm.copyFromUser(arg, 24)).size, BigInt(4 * PG))
  assert.is(t.mm.lockedVm, 0)
  assert.is(dom.entries.size, 0)
})

test('an unmapped vaddr → EFAULT; RLIMIT_MEMLOCK for an unprivileged task → ENOMEM', () => {
  const root = boot()
  assert.is(root.mapIoctl(0x1000_0000, 0, PG), 'EFAULT')
  const user = boot('none')
  assert.is(user.mapIoctl(user.buf, 0, 3 * PG), 'ENOMEM')
  assert.is(user.t.mm.lockedVm, 0)
  assert.is(user.mapIoctl(user.buf, 0, 2 * PG), 0)
  assert.is(user.t.mm.lockedVm, 2)
})

test('device MMIO mmap (PFNMAP) is mapped for peer-to-peer DMA without pinning', () => {
  const { k, t, dom, mapIoctl } = boot()
  const fd = sysOpen(k, t, '/dev/mmio', O_RDWR)
  const va = sysMmap(k, t, 0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
  assert.is(mapIoctl(va, 0, PG), 0)
  assert.is(dom.entries.get(0n)!.phys, 0x2c0a_0000)
  assert.is(t.mm.lockedVm, 0)
})

test.run()
