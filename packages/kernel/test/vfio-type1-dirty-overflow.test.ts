// DIRTY_PAGES GET_BITMAP range checks in the upstream profile, which follows
// Alex Mastro's overflow series (decision 0602: MAP/UNMAP wrap → EOVERFLOW).
// vfio_iommu_type1_dirty_pages after "vfio/type1: sanitize for overflow using
// check_*_overflow": `if (!range.size) return -EINVAL;` then
// `if (check_add_overflow(range.iova, range.size - 1, &range_end)) return
// -EOVERFLOW;` — both before the bitmap's access_ok/size checks. The old test
// `range.iova + range.size < range.iova` also refused a range ending exactly
// at 2^64 − 1; the new one accepts it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { VFIO_IOMMU_DIRTY_PAGES } from '@vfio-sim/uapi'
import { ARG, PAGE, errnoOf, setup, type Harness } from './vfio-type1-fakes.ts'

const BITS = ARG + 0x800
const START = 1
const GET = 4
const TOP = 2n ** 64n - BigInt(PAGE) // the last page of the 64-bit IOVA space

function get(h: Harness, iova: bigint, size: bigint, bsize = 16n, pgsize = BigInt(PAGE)): number | string {
  const b = new Uint8Array(48)
  const v = new DataView(b.buffer)
  v.setUint32(0, 48, true)
  v.setUint32(4, GET, true)
  v.setBigUint64(8, iova, true)
  v.setBigUint64(16, size, true)
  v.setBigUint64(24, pgsize, true)
  v.setBigUint64(32, bsize, true)
  v.setBigUint64(40, BigInt(BITS), true)
  h.mm.copyToUser(ARG, b)
  return errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_DIRTY_PAGES, ARG))
}

function started(): Harness {
  const h = setup('upstream')
  h.mm.copyToUser(ARG, Uint8Array.of(8, 0, 0, 0, START, 0, 0, 0))
  assert.is(h.c.ioctl(h.task, VFIO_IOMMU_DIRTY_PAGES, ARG), 0)
  return h
}

test('upstream GET_BITMAP: a range running past 2^64 − 1 is EOVERFLOW (even with a bitmap too small for it)', () => {
  const h = started()
  assert.is(get(h, TOP, 2n * BigInt(PAGE)), 'EOVERFLOW')
  assert.is(get(h, TOP, 2n * BigInt(PAGE), 0n), 'EOVERFLOW', 'before the bitmap size check')
  assert.is(get(h, 1n << 63n, (1n << 63n) + BigInt(PAGE)), 'EOVERFLOW')
})

test('upstream GET_BITMAP: a range ending exactly at 2^64 − 1 is valid (nothing mapped there: 0, bitmap untouched)', () => {
  const h = started()
  h.mm.copyToUser(BITS, new Uint8Array(16).fill(0xaa))
  assert.is(get(h, TOP, BigInt(PAGE)), 0)
  assert.equal([...h.mm.copyFromUser(BITS, 16)], new Array(16).fill(0xaa))
})

test('upstream GET_BITMAP: size 0 is EINVAL whatever the bitmap', () => {
  const h = started()
  assert.is(get(h, 0n, 0n), 'EINVAL')
  assert.is(get(h, TOP, 0n, 0n, 0n), 'EINVAL')
})

test.run()
