// [3.15] drivers/vfio/vfio_iommu_type1.c, vfio_iommu_type1_ioctl: GET_INFO and
// UNMAP_DMA end with `return copy_to_user((void __user *)arg, &x, minsz);`
// (the `? -EFAULT : 0` came later). copy_to_user copies up to the first byte
// it cannot write and returns how many it did not copy, so a struct whose
// tail lies in a read-only page makes the ioctl return that count (> 0), with
// the head written. Upstream the same call is -EFAULT.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_IOMMU_GET_INFO, VFIO_IOMMU_UNMAP_DMA, vfio_iommu_type1_dma_unmap } from '@vfio-sim/uapi'
import { BUF, PAGE, RO_ARG, errnoOf, map, setup } from './vfio-type1-fakes.ts'

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE

/** Puts `bytes` at `addr` (possibly straddling into the read-only page) through the fake's back door. */
function place(h: ReturnType<typeof setup>, addr: number, bytes: Uint8Array): void {
  bytes.forEach((b, i) => {
    const a = addr + i
    h.mm.pages.get(a - (a % PAGE))!.data[a % PAGE] = b
  })
}

for (const profile of ['rfc-v5', 'upstream'] as const) {
  test(`${profile}: UNMAP whose struct straddles into a read-only page: ${profile === 'rfc-v5' ? 'returns 8 (the bytes past the boundary), head written' : 'EFAULT'}`, () => {
    const h = setup(profile)
    h.mm.mmap(RO_ARG - PAGE, 1) // a writable page right below the read-only one
    assert.is(map(h, RW, BUF, 0, 2 * PAGE), 0)
    const at = RO_ARG - 16 // argsz, flags, iova writable; size (offset 16) read-only
    place(h, at, vfio_iommu_type1_dma_unmap.encode({ argsz: 24, flags: 0, iova: 0n, size: BigInt(2 * PAGE) }))
    assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_UNMAP_DMA, at)), profile === 'rfc-v5' ? 8 : 'EFAULT')
    assert.is(h.c.type1!.mappings().length, 0, 'the unmap happened')
  })

  test(`${profile}: GET_INFO into a read-only struct: ${profile === 'rfc-v5' ? 'returns 16 (nothing copied)' : 'EFAULT'}`, () => {
    const h = setup(profile)
    const b = new Uint8Array(24)
    new DataView(b.buffer).setUint32(0, 24, true)
    place(h, RO_ARG, b)
    assert.is(errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_GET_INFO, RO_ARG)), profile === 'rfc-v5' ? 16 : 'EFAULT')
  })
}

test.run()
