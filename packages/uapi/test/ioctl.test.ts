// Request numbers: spot checks against the values printed by compiling
// against the Linux header (spec vfio.md §3), and the _IOC field algebra
// against a plain arithmetic model.

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import * as U from '../src/index.ts'

test('VFIO request numbers are 0x3B64 + n', () => {
  const expected: Array<[number, number]> = [
    [U.VFIO_GET_API_VERSION, 0x3b64],
    [U.VFIO_CHECK_EXTENSION, 0x3b65],
    [U.VFIO_SET_IOMMU, 0x3b66],
    [U.VFIO_GROUP_GET_STATUS, 0x3b67],
    [U.VFIO_GROUP_SET_CONTAINER, 0x3b68],
    [U.VFIO_GROUP_UNSET_CONTAINER, 0x3b69],
    [U.VFIO_GROUP_GET_DEVICE_FD, 0x3b6a],
    [U.VFIO_DEVICE_GET_INFO, 0x3b6b],
    [U.VFIO_DEVICE_GET_REGION_INFO, 0x3b6c],
    [U.VFIO_DEVICE_GET_IRQ_INFO, 0x3b6d],
    [U.VFIO_DEVICE_SET_IRQS, 0x3b6e],
    [U.VFIO_DEVICE_RESET, 0x3b6f],
    [U.VFIO_IOMMU_GET_INFO, 0x3b70],
    [U.VFIO_IOMMU_MAP_DMA, 0x3b71],
    [U.VFIO_IOMMU_UNMAP_DMA, 0x3b72],
    [U.VFIO_IOMMU_DIRTY_PAGES, 0x3b75],
  ]
  for (const [got, want] of expected) assert.is(got, want)
  assert.is(U.VFIO_GET_API_VERSION, 15204)
  assert.is(U.VFIO_TYPE, ';')
  assert.is(U.VFIO_TYPE_CODE, 0x3b)
  assert.is(U.VFIO_BASE, 100)
  assert.is(U.VFIO_API_VERSION, 0)
})

test('request number → names lists every name sharing the number', () => {
  assert.equal(U.vfioIoctlNames(0x3b64), ['VFIO_GET_API_VERSION'])
  const names = U.vfioIoctlNames(0x3b70)
  assert.ok(names.includes('VFIO_IOMMU_GET_INFO'))
  assert.ok(names.includes('VFIO_DEVICE_GET_PCI_HOT_RESET_INFO'))
  assert.equal(U.vfioIoctlNames(0x3b70, 'device'), ['VFIO_DEVICE_GET_PCI_HOT_RESET_INFO'])
  assert.equal(U.vfioIoctlNames(0x3b75, 'device'), ['VFIO_DEVICE_FEATURE'])
  assert.ok(U.vfioIoctlNames(0x3b75, 'container').includes('VFIO_IOMMU_DIRTY_PAGES'))
  assert.equal(U.vfioIoctlNames(0x5401), [])
})

test('extension ids', () => {
  assert.equal(
    [U.VFIO_TYPE1_IOMMU, U.VFIO_SPAPR_TCE_IOMMU, U.VFIO_TYPE1v2_IOMMU, U.VFIO_DMA_CC_IOMMU, U.VFIO_EEH,
      U.VFIO_TYPE1_NESTING_IOMMU, U.VFIO_SPAPR_TCE_v2_IOMMU, U.VFIO_NOIOMMU_IOMMU, U.VFIO_UNMAP_ALL, U.VFIO_UPDATE_VADDR],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
})

test('irq set masks', () => {
  assert.is(U.VFIO_IRQ_SET_DATA_TYPE_MASK, 0x07)
  assert.is(U.VFIO_IRQ_SET_ACTION_TYPE_MASK, 0x38)
})

test('_IOC packs dir/size/type/nr like asm-generic/ioctl.h (property vs arithmetic model)', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0x3fff }),
    (dir, type, nr, size) => {
      const req = U._IOC(dir, type, nr, size)
      assert.is(req, dir * 2 ** 30 + size * 2 ** 16 + type * 2 ** 8 + nr)
      assert.is(U._IOC_DIR(req), dir)
      assert.is(U._IOC_TYPE(req), type)
      assert.is(U._IOC_NR(req), nr)
      assert.is(U._IOC_SIZE(req), size)
    }))
})

test('_IOR/_IOW/_IOWR examples', () => {
  // _IOWR('x', 1, 8 bytes) = 0xC0087801; _IOR = 0x80..; _IOW = 0x40..
  assert.is(U._IOWR('x', 1, 8), 0xc0087801)
  assert.is(U._IOR('x', 1, 8), 0x80087801)
  assert.is(U._IOW('x', 1, 8), 0x40087801)
  assert.is(U._IO(';', 100), 0x3b64)
  assert.throws(() => U._IOC(0, ';', 256, 0), RangeError)
  assert.throws(() => U._IOC(0, ';', 0, 0x4000), RangeError)
  assert.throws(() => U._IO('ab', 1), RangeError)
})

test.run()
