// Upstream dirty-page tracking (spec vfio.md §8.4 steps 3–8, §8.5): the
// DIRTY_PAGES START/STOP/GET_BITMAP validation chain, UNMAP with
// GET_DIRTY_BITMAP, and the exact words written into the user bitmap (every
// page of an IOMMU-mapped range reads dirty; whole u64 words are written).

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_UNMAP_DMA,
} from '@vfio-sim/uapi'
import { ARG, BUF, PAGE, errnoOf, map, setup, type Harness } from './vfio-type1-fakes.ts'

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE
const BITS = ARG + 0x800 // the user bitmap
const START = 1
const STOP = 2
const GET = 4

function dirty(h: Harness, flags: number, range?: { iova: number; size: number; pgsize?: number; data?: number; bsize?: number; argsz?: number }): number | string {
  const b = new Uint8Array(48)
  const v = new DataView(b.buffer)
  v.setUint32(0, range?.argsz ?? (range === undefined ? 8 : 48), true)
  v.setUint32(4, flags, true)
  if (range !== undefined) {
    v.setBigUint64(8, BigInt(range.iova), true)
    v.setBigUint64(16, BigInt(range.size), true)
    v.setBigUint64(24, BigInt(range.pgsize ?? PAGE), true)
    v.setBigUint64(32, BigInt(range.bsize ?? 16), true)
    v.setBigUint64(40, BigInt(range.data ?? BITS), true)
  }
  h.mm.copyToUser(ARG, b)
  return errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_DIRTY_PAGES, ARG))
}

function bitmapBytes(h: Harness, n = 16): number[] {
  return [...h.mm.copyFromUser(BITS, n)]
}

function freshBitmap(h: Harness): void {
  h.mm.copyToUser(BITS, new Uint8Array(16).fill(0xaa))
}

test('GET_BITMAP: every page of every mapping in range is dirty; whole words written from each mapping', () => {
  const h = setup('upstream')
  assert.is(map(h, RW, BUF, 0, 2 * PAGE), 0)
  assert.is(map(h, RW, BUF, 4 * PAGE, PAGE), 0)
  assert.is(dirty(h, START), 0)
  freshBitmap(h)
  assert.is(dirty(h, GET, { iova: 0, size: 8 * PAGE }), 0)
  assert.equal(bitmapBytes(h), [0x13, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa])
  // Again: still all dirty (re-populated after each report).
  freshBitmap(h)
  assert.is(dirty(h, GET, { iova: 0, size: 8 * PAGE }), 0)
  assert.is(bitmapBytes(h)[0], 0x13)
})

test('GET_BITMAP: a mapping in the second word keeps the low bits of that word and leaves the first word alone', () => {
  const h = setup('upstream', { bufPages: 8 })
  assert.is(map(h, RW, BUF, 70 * PAGE, PAGE), 0)
  assert.is(dirty(h, START), 0)
  freshBitmap(h)
  assert.is(dirty(h, GET, { iova: 0, size: 128 * PAGE }), 0)
  // bit 70 = word 1 bit 6; bits 0–5 of word 1 are read back (0xaa → 0b101010).
  assert.equal(bitmapBytes(h), [0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x6a, 0, 0, 0, 0, 0, 0, 0])
})

test('GET_BITMAP validation: argsz, copy-in, wrap, bitmap size/pgsize, alignment, tracking, bisection', () => {
  const h = setup('upstream')
  assert.is(map(h, RW, BUF, 0, 2 * PAGE), 0)
  assert.is(dirty(h, GET, { iova: 0, size: 2 * PAGE, argsz: 47 }), 'EINVAL')
  assert.is(dirty(h, GET, { iova: 0, size: 2 * PAGE }), 'EINVAL') // tracking off
  assert.is(dirty(h, START), 0)
  assert.is(dirty(h, START), 0) // already on: fine
  assert.is(dirty(h, GET, { iova: 0, size: 2 * PAGE, pgsize: 2 * PAGE }), 'EINVAL')
  assert.is(dirty(h, GET, { iova: 0, size: 2 * PAGE, bsize: 0 }), 'EINVAL')
  assert.is(dirty(h, GET, { iova: 0, size: 64 * 8 * 17 * PAGE, bsize: 16 }), 'EINVAL') // too small for the range
  assert.is(dirty(h, GET, { iova: 0x800, size: 2 * PAGE }), 'EINVAL')
  assert.is(dirty(h, GET, { iova: 0, size: 0 }), 'EINVAL')
  assert.is(dirty(h, GET, { iova: 0, size: PAGE }), 'EINVAL') // bisects the mapping
  assert.is(dirty(h, GET, { iova: 0, size: 2 * PAGE, data: 0x7000_0000 }), 'EFAULT')
  assert.is(dirty(h, GET, { iova: 0, size: 2 * PAGE, data: 0x7fff_ffff_f000 }), 'EINVAL') // not access_ok
  assert.is(dirty(h, STOP), 0)
  assert.is(dirty(h, GET, { iova: 0, size: 2 * PAGE }), 'EINVAL')
  const v1 = setup('upstream', { v2: false })
  assert.is(dirty(v1, START), 'EACCES')
})

test('UNMAP with GET_DIRTY_BITMAP: needs tracking and the smallest page size; reports the bits of what it removes', () => {
  const h = setup('upstream')
  assert.is(map(h, RW, BUF, 0, 2 * PAGE), 0)
  assert.is(map(h, RW, BUF, 4 * PAGE, PAGE), 0)
  const unmapDirty = (iova: number, size: number, pgsize = PAGE, bsize = 16, data = BITS): number | string => {
    const b = new Uint8Array(48)
    const v = new DataView(b.buffer)
    v.setUint32(0, 48, true)
    v.setUint32(4, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, true)
    v.setBigUint64(8, BigInt(iova), true)
    v.setBigUint64(16, BigInt(size), true)
    v.setBigUint64(24, BigInt(pgsize), true)
    v.setBigUint64(32, BigInt(bsize), true)
    v.setBigUint64(40, BigInt(data), true)
    h.mm.copyToUser(ARG, b)
    return errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_UNMAP_DMA, ARG))
  }
  assert.is(unmapDirty(0, 8 * PAGE), 'EINVAL') // tracking off
  assert.is(dirty(h, START), 0)
  assert.is(unmapDirty(0, 8 * PAGE, 2 * PAGE), 'EINVAL')
  assert.is(unmapDirty(0, 8 * PAGE, PAGE, 0), 'EINVAL')
  assert.is(h.c.type1!.mappings().length, 2)
  freshBitmap(h)
  assert.is(unmapDirty(0, 8 * PAGE), 0)
  assert.equal(bitmapBytes(h, 9), [0x13, 0, 0, 0, 0, 0, 0, 0, 0xaa])
  assert.is(new DataView(h.mm.copyFromUser(ARG, 24).buffer).getBigUint64(16, true), BigInt(3 * PAGE))
  assert.is(h.c.type1!.mappings().length, 0)
})

test.run()
