// Ports of the upstream VFIO selftests (tools/testing/selftests/vfio/) that
// apply to a platform device, run through the process API on a booted board
// with the real SMMU driver and vfio-platform (upstream profile):
//  - lib: the container/group setup sequence of vfio_pci_device.c
//    (GET_API_VERSION == 0, VIABLE, SET_CONTAINER, CHECK_EXTENSION > 0,
//    SET_IOMMU, GET_DEVICE_FD);
//  - lib iommu.c: the IOVA ranges read from the GET_INFO capability chain
//    (argsz first, then a buffer of the size the kernel asked for);
//  - vfio_dma_mapping_test.c: dma_map_unmap, and vfio_dma_map_limit_test's
//    unmap_range / unmap_all / overflow at the last page of the last range;
//  - vfio_dma_mapping_mmio_test.c: type1 maps an mmapped device region.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SimSystem } from '@vfio-sim/sim'
import { Kernel } from '@vfio-sim/kernel'
import {
  O_RDWR,
  VFIO_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_GET_API_VERSION, VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS, VFIO_GROUP_SET_CONTAINER, VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA,
  VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU,
} from '@vfio-sim/uapi'
import { Machine, buildBoard, type Process } from '../src/index.ts'

const DEV = '2c0a0000.dma'
const PAGE = 4096
const MAP_READ = 1
const MAP_WRITE = 2
const UNMAP_ALL = 2
const CAP_IOVA_RANGE = 1

function errno(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    return (e as { code?: string }).code ?? String(e)
  }
  return 'no error'
}

interface Setup { p: Process; container: number; group: number; device: number }

/** vfio_pci_container_setup + vfio_pci_group_setup, for the PL330 on vfio-platform. */
function setup(iommuType: number): Setup {
  const kernel = new Kernel({ sys: new SimSystem(), profile: 'upstream' })
  const m = new Machine(kernel, 'fvp-mmu400', buildBoard(kernel, 'fvp-mmu400', { iommu: true }))
  const p = m.spawn()
  p.writeFile(`/sys/bus/platform/devices/${DEV}/driver_override`, 'vfio-platform\n')
  p.writeFile('/sys/bus/platform/drivers/dma-pl330/unbind', `${DEV}\n`)
  p.writeFile('/sys/bus/platform/drivers_probe', `${DEV}\n`)
  p.writeFile('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts', 'Y\n')
  const gid = p.readlink(`/sys/bus/platform/devices/${DEV}/iommu_group`).split('/').pop()!
  const container = p.open('/dev/vfio/vfio', O_RDWR)
  assert.is(p.ioctl(container, VFIO_GET_API_VERSION), VFIO_API_VERSION)
  const group = p.open(`/dev/vfio/${gid}`, O_RDWR)
  const st = new Uint8Array(8)
  new DataView(st.buffer).setUint32(0, 8, true)
  assert.is(p.ioctl(group, VFIO_GROUP_GET_STATUS, st), 0)
  assert.ok((new DataView(st.buffer).getUint32(4, true) & VFIO_GROUP_FLAGS_VIABLE) !== 0)
  const fd = new Uint8Array(4)
  new DataView(fd.buffer).setInt32(0, container, true)
  assert.is(p.ioctl(group, VFIO_GROUP_SET_CONTAINER, fd), 0)
  assert.ok(p.ioctl(container, VFIO_CHECK_EXTENSION, iommuType) > 0)
  assert.is(p.ioctl(container, VFIO_SET_IOMMU, iommuType), 0)
  // The selftest lets racing threads call SET_IOMMU again: the second one fails.
  assert.is(errno(() => p.ioctl(container, VFIO_SET_IOMMU, iommuType)), 'EINVAL')
  const device = p.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, new TextEncoder().encode(`${DEV}\0`))
  assert.ok(device >= 0)
  return { p, container, group, device }
}

/** lib/iommu.c vfio_iommu_iova_ranges: GET_INFO twice, then walk the chain to IOVA_RANGE. */
function iovaRanges(s: Setup): Array<{ start: bigint; last: bigint }> {
  const hdr = new Uint8Array(24)
  new DataView(hdr.buffer).setUint32(0, 24, true)
  assert.is(s.p.ioctl(s.container, VFIO_IOMMU_GET_INFO, hdr), 0)
  const need = new DataView(hdr.buffer).getUint32(0, true)
  assert.ok(need > 24, 'the kernel asks for room for its capabilities')
  const buf = new Uint8Array(need)
  new DataView(buf.buffer).setUint32(0, need, true)
  assert.is(s.p.ioctl(s.container, VFIO_IOMMU_GET_INFO, buf), 0)
  const v = new DataView(buf.buffer)
  let off = v.getUint32(16, true) // cap_offset
  while (off !== 0) {
    if (v.getUint16(off, true) === CAP_IOVA_RANGE) {
      const n = v.getUint32(off + 8, true)
      const out: Array<{ start: bigint; last: bigint }> = []
      for (let i = 0; i < n; i++) out.push({ start: v.getBigUint64(off + 16 + 16 * i, true), last: v.getBigUint64(off + 24 + 16 * i, true) })
      return out
    }
    off = v.getUint32(off + 4, true)
  }
  throw new Error('no IOVA_RANGE capability')
}

function dmaMap(s: Setup, vaddr: number, iova: bigint, size: bigint): void {
  const b = new Uint8Array(32)
  const v = new DataView(b.buffer)
  v.setUint32(0, 32, true)
  v.setUint32(4, MAP_READ | MAP_WRITE, true)
  v.setBigUint64(8, BigInt(vaddr), true)
  v.setBigUint64(16, iova, true)
  v.setBigUint64(24, size, true)
  s.p.ioctl(s.container, VFIO_IOMMU_MAP_DMA, b)
}

/** __iommu_unmap / __iommu_unmap_all: returns the bytes unmapped (the size written back). */
function dmaUnmap(s: Setup, iova: bigint, size: bigint, flags = 0): bigint {
  const b = new Uint8Array(24)
  const v = new DataView(b.buffer)
  v.setUint32(0, 24, true)
  v.setUint32(4, flags, true)
  v.setBigUint64(8, iova, true)
  v.setBigUint64(16, size, true)
  s.p.ioctl(s.container, VFIO_IOMMU_UNMAP_DMA, b)
  return v.getBigUint64(16, true)
}

for (const [name, type] of [['vfio_type1_iommu', VFIO_TYPE1_IOMMU], ['vfio_type1v2_iommu', VFIO_TYPE1v2_IOMMU]] as const) {
  test(`${name}: dma_map_unmap of one anonymous page; the unmap reports the region size`, () => {
    const s = setup(type)
    const vaddr = s.p.mmap(0, PAGE, 3, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0)
    dmaMap(s, vaddr, 0x10_0000n, BigInt(PAGE))
    assert.is(dmaUnmap(s, 0x10_0000n, BigInt(PAGE)), BigInt(PAGE))
    // Nothing left: unmapping again succeeds with 0 bytes.
    assert.is(dmaUnmap(s, 0x10_0000n, BigInt(PAGE)), 0n)
  })

  test(`${name}: vfio_dma_map_limit_test at the last page of the last IOVA range: unmap_range, unmap_all, overflow → EOVERFLOW`, () => {
    const s = setup(type)
    const ranges = iovaRanges(s)
    assert.ok(ranges.length > 0)
    const last = ranges[ranges.length - 1]!.last
    const iova = last & ~BigInt(PAGE - 1)
    const vaddr = s.p.mmap(0, 2 * PAGE, 3, 0x22, -1, 0)
    // unmap_range
    dmaMap(s, vaddr, iova, BigInt(PAGE))
    assert.is(dmaUnmap(s, iova, BigInt(PAGE)), BigInt(PAGE))
    // unmap_all (VFIO_UNMAP_ALL is a v1 and v2 extension)
    assert.is(s.p.ioctl(s.container, VFIO_CHECK_EXTENSION, 9), 1)
    dmaMap(s, vaddr, iova, BigInt(PAGE))
    assert.is(dmaUnmap(s, 0n, 0n, UNMAP_ALL), BigInt(PAGE))
    // overflow: the last page of the 64-bit space, two pages long
    const top = ~0n & (2n ** 64n - 1n) & ~BigInt(PAGE - 1)
    assert.is(errno(() => dmaMap(s, vaddr, top, BigInt(2 * PAGE))), 'EOVERFLOW')
    assert.is(errno(() => dmaUnmap(s, top, BigInt(2 * PAGE))), 'EOVERFLOW')
  })

  test(`${name}: vfio_dma_mapping_mmio_test: the mmapped register region maps and unmaps through type1`, () => {
    const s = setup(type)
    const regs = s.p.mmap(0, PAGE, 3, 1 /* MAP_SHARED */, s.device, 0)
    dmaMap(s, regs, 0x20_0000n, BigInt(PAGE))
    assert.is(dmaUnmap(s, 0x20_0000n, BigInt(PAGE)), BigInt(PAGE))
  })
}

test.run()
