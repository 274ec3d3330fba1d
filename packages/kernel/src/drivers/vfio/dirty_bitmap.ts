/**
 * Dirty-page bitmaps of type1 (upstream only): VFIO_IOMMU_DIRTY_PAGES
 * GET_BITMAP and VFIO_IOMMU_UNMAP_DMA with GET_DIRTY_BITMAP write one bit per
 * IOMMU page into a user array of u64 words (Linux bitmap layout: bit n is
 * bit n%64 of word n/64, little-endian).
 *
 * Every group here is an IOMMU-backed group that cannot report dirty pages
 * itself, so while tracking is on Linux reports every page of every mapping
 * in the range as dirty, on every call (update_user_bitmap: "mark all pages
 * dirty if any IOMMU capable device is not able to report dirty pages").
 */
import { kerr } from '../../errno.ts'
import type { VfioTask } from './iommu_types.ts'
import { copyIn, copyOut } from './uaccess.ts'

/** `DIRTY_BITMAP_SIZE_MAX`: the largest user bitmap accepted, in bytes. */
export const DIRTY_BITMAP_SIZE_MAX = 0x1000_0000n

/** access_ok() limit (x86-64 TASK_SIZE_MAX, as mm/mmap.ts TASK_SIZE). */
const TASK_SIZE_MAX = 0x7fff_ffff_f000n

/** DIRTY_BITMAP_BYTES(n): bytes of a bitmap of `n` bits, rounded up to whole u64 words. */
export function dirtyBitmapBytes(nbits: bigint): bigint {
  return ((nbits + 63n) / 64n) * 8n
}

/** __ffs of a page size (0 for 0, where Linux is undefined). */
export function pgshiftOf(pgsize: bigint): bigint {
  if (pgsize === 0n) return 0n
  let s = 0n
  while (((pgsize >> s) & 1n) === 0n) s++
  return s
}

/**
 * The user-bitmap checks shared by UNMAP and GET_BITMAP: access_ok(data, size)
 * and verify_bitmap_size(npages, size). @throws KernelError EINVAL
 */
export function checkUserBitmap(data: bigint, bitmapSize: bigint, rangeSize: bigint, pgsize: bigint): void {
  if (data + bitmapSize > TASK_SIZE_MAX) kerr('EINVAL')
  const npages = rangeSize >> pgshiftOf(pgsize)
  if (npages === 0n || bitmapSize === 0n || bitmapSize > DIRTY_BITMAP_SIZE_MAX || bitmapSize < dirtyBitmapBytes(npages)) kerr('EINVAL')
}

/**
 * update_user_bitmap: sets the bits of the mapping [iova, iova+size) in the
 * user bitmap that starts at `base`. Whole u64 words are written, from the
 * mapping's first word to its last; the bits below the mapping in its first
 * word are kept (read back first), the bits after it in its last word are
 * cleared — exactly what Linux's shift-and-copy does.
 * @throws KernelError EFAULT
 */
export function markDirty(task: VfioTask, data: bigint, base: bigint, pgsize: bigint, iova: bigint, size: bigint): void {
  const pgshift = pgshiftOf(pgsize)
  const nbits = Number(size >> pgshift)
  const bitOffset = Number((iova - base) >> pgshift)
  const wordOffset = Math.floor(bitOffset / 64)
  const shift = bitOffset % 64
  const total = nbits + shift
  const bytes = new Uint8Array(Math.ceil(total / 64) * 8)
  for (let b = shift; b < total; b++) bytes[b >> 3]! |= 1 << (b & 7)
  const at = data + BigInt(wordOffset * 8)
  if (shift !== 0) {
    const leftover = copyIn(task, at, 8)
    for (let b = 0; b < shift; b++) if ((leftover[b >> 3]! >> (b & 7)) & 1) bytes[b >> 3]! |= 1 << (b & 7)
  }
  copyOut(task, at, bytes)
}
