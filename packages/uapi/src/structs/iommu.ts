// Type1 IOMMU structs: GET_INFO and its capabilities, MAP_DMA, UNMAP_DMA.

import { defineStruct, requireBytes, viewOf, type StructCodec } from '../layout.ts'
import { vfio_info_cap_header, type StructFields, type StructInput } from './common.ts'

/**
 * `struct vfio_iommu_type1_info`, current layout (24 bytes): `argsz` u32 @0,
 * `flags` u32 @4 (VFIO_IOMMU_INFO_*), `iova_pgsizes` u64 @8, `cap_offset`
 * u32 @16, `pad` u32 @20. minsz = 16 (up to `iova_pgsizes`). In the 6.1 header
 * `pad` is implicit tail padding (sizeof is 24 either way); the 2014 struct
 * ended at 16 bytes. Capabilities start at 24, never at 20.
 */
export const vfio_iommu_type1_info = defineStruct('vfio_iommu_type1_info', 24, {
  argsz: { type: 'u32', offset: 0 },
  flags: { type: 'u32', offset: 4 },
  iova_pgsizes: { type: 'u64', offset: 8 },
  cap_offset: { type: 'u32', offset: 16 },
  pad: { type: 'u32', offset: 20, optional: true },
})
/** Fields of `struct vfio_iommu_type1_info`. */
export type vfio_iommu_type1_info = StructFields<typeof vfio_iommu_type1_info>

/**
 * `struct vfio_iommu_type1_dma_map` (32 bytes): `argsz` u32 @0, `flags` u32
 * @4 (READ | WRITE | bit 2 per profile), `vaddr` u64 @8, `iova` u64 @16,
 * `size` u64 @24. minsz = 32.
 */
export const vfio_iommu_type1_dma_map = defineStruct('vfio_iommu_type1_dma_map', 32, {
  argsz: { type: 'u32', offset: 0 },
  flags: { type: 'u32', offset: 4 },
  vaddr: { type: 'u64', offset: 8 },
  iova: { type: 'u64', offset: 16 },
  size: { type: 'u64', offset: 24 },
})
/** Fields of `struct vfio_iommu_type1_dma_map`. */
export type vfio_iommu_type1_dma_map = StructFields<typeof vfio_iommu_type1_dma_map>

const dmaUnmapFixed = defineStruct('vfio_iommu_type1_dma_unmap', 24, {
  argsz: { type: 'u32', offset: 0 },
  flags: { type: 'u32', offset: 4 },
  iova: { type: 'u64', offset: 8 },
  size: { type: 'u64', offset: 16 },
})

/**
 * `struct vfio_iommu_type1_dma_unmap` (24 bytes): `argsz` u32 @0, `flags` u32
 * @4 (VFIO_DMA_UNMAP_FLAG_*), `iova` u64 @8, `size` u64 @16, flexible
 * `data[]` @24 (a `vfio_bitmap` when GET_DIRTY_BITMAP is set; decode it with
 * `vfio_bitmap.decode(bytes, offsets.data)`). The codec covers the fixed part;
 * `offsets.data` is 24. minsz = 24; the kernel writes back 24 bytes on success.
 */
export const vfio_iommu_type1_dma_unmap: typeof dmaUnmapFixed & { readonly offsets: Readonly<Record<'argsz' | 'flags' | 'iova' | 'size' | 'data', number>> } = {
  ...dmaUnmapFixed,
  offsets: { ...dmaUnmapFixed.offsets, data: 24 },
}
/** Fields of `struct vfio_iommu_type1_dma_unmap` (fixed part). */
export type vfio_iommu_type1_dma_unmap = StructFields<typeof dmaUnmapFixed>

/**
 * `struct vfio_bitmap` (24 bytes): `pgsize` u64 @0, `size` u64 @8, `data`
 * (a `__u64 *` user pointer) u64 @16. Follows `vfio_iommu_type1_dma_unmap`
 * when VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP is set.
 */
export const vfio_bitmap = defineStruct('vfio_bitmap', 24, {
  pgsize: { type: 'u64', offset: 0 },
  size: { type: 'u64', offset: 8 },
  data: { type: 'u64', offset: 16 },
})
/** Fields of `struct vfio_bitmap`. */
export type vfio_bitmap = StructFields<typeof vfio_bitmap>

/** `struct vfio_iova_range` (16 bytes): `start` u64 @0, `end` u64 @8 (inclusive). */
export const vfio_iova_range = defineStruct('vfio_iova_range', 16, {
  start: { type: 'u64', offset: 0 },
  end: { type: 'u64', offset: 8 },
})
/** Fields of `struct vfio_iova_range`. */
export type vfio_iova_range = StructFields<typeof vfio_iova_range>

const iovaRangeFixed = defineStruct('vfio_iommu_type1_info_cap_iova_range', 16, {
  header: { type: vfio_info_cap_header, offset: 0 },
  nr_iovas: { type: 'u32', offset: 8 },
  reserved: { type: 'u32', offset: 12, optional: true },
})
const IOVA_RANGES_OFFSET = 16

/** Decoded `struct vfio_iommu_type1_info_cap_iova_range` with its `nr_iovas` ranges. */
export interface vfio_iommu_type1_info_cap_iova_range {
  header: vfio_info_cap_header
  nr_iovas: number
  reserved: number
  iova_ranges: vfio_iova_range[]
}

/** Encode input: `nr_iovas` defaults to `iova_ranges.length`, `reserved` to 0. */
export interface vfio_iommu_type1_info_cap_iova_range_input {
  header: StructInput<typeof vfio_info_cap_header>
  nr_iovas?: number
  reserved?: number
  iova_ranges: readonly vfio_iova_range[]
}

function iovaRangeWrite(view: DataView, base: number, input: vfio_iommu_type1_info_cap_iova_range_input): void {
  iovaRangeFixed.writeTo(view, base, { ...input, nr_iovas: input.nr_iovas ?? input.iova_ranges.length })
  input.iova_ranges.forEach((r, i) => vfio_iova_range.writeTo(view, base + IOVA_RANGES_OFFSET + i * vfio_iova_range.size, r))
}
const iovaRangeLength = (input: vfio_iommu_type1_info_cap_iova_range_input): number =>
  IOVA_RANGES_OFFSET + input.iova_ranges.length * vfio_iova_range.size
function iovaRangeEncodeInto(input: vfio_iommu_type1_info_cap_iova_range_input, target: Uint8Array, offset = 0): number {
  const n = iovaRangeLength(input)
  requireBytes('encode vfio_iommu_type1_info_cap_iova_range', target, offset, n)
  target.fill(0, offset, offset + n)
  iovaRangeWrite(viewOf(target), offset, input)
  return n
}

/**
 * `struct vfio_iommu_type1_info_cap_iova_range` (16 bytes + 16 per range):
 * `header` @0, `nr_iovas` u32 @8, `reserved` u32 @12, `iova_ranges[]` @16.
 * `decode` reads `nr_iovas` ranges (RangeError if the buffer is too short).
 */
export const vfio_iommu_type1_info_cap_iova_range: StructCodec<vfio_iommu_type1_info_cap_iova_range, vfio_iommu_type1_info_cap_iova_range_input> & {
  readonly offsets: Readonly<Record<keyof vfio_iommu_type1_info_cap_iova_range, number>>
} = {
  name: 'vfio_iommu_type1_info_cap_iova_range',
  size: iovaRangeFixed.size,
  offsets: { ...iovaRangeFixed.offsets, iova_ranges: IOVA_RANGES_OFFSET },
  fields: iovaRangeFixed.fields,
  byteLength: iovaRangeLength,
  encode(input) {
    const out = new Uint8Array(iovaRangeLength(input))
    iovaRangeEncodeInto(input, out, 0)
    return out
  },
  encodeInto: iovaRangeEncodeInto,
  decode(bytes, offset = 0) {
    const fixed = iovaRangeFixed.decode(bytes, offset)
    requireBytes(`decode vfio_iommu_type1_info_cap_iova_range (${fixed.nr_iovas} ranges)`, bytes, offset,
      IOVA_RANGES_OFFSET + fixed.nr_iovas * vfio_iova_range.size)
    const iova_ranges: vfio_iova_range[] = []
    for (let i = 0; i < fixed.nr_iovas; i++) {
      iova_ranges.push(vfio_iova_range.decode(bytes, offset + IOVA_RANGES_OFFSET + i * vfio_iova_range.size))
    }
    return { ...fixed, iova_ranges }
  },
  decodePrefix(bytes, length, offset = 0) {
    return { ...iovaRangeFixed.decodePrefix(bytes, length, offset), iova_ranges: [] }
  },
  readFrom(view, offset) {
    return { ...iovaRangeFixed.readFrom(view, offset), iova_ranges: [] }
  },
  writeTo: iovaRangeWrite,
}

/**
 * `struct vfio_iommu_type1_info_cap_migration` (32 bytes): `header` @0,
 * `flags` u32 @8, 4 bytes padding, `pgsize_bitmap` u64 @16,
 * `max_dirty_bitmap_size` u64 @24.
 */
export const vfio_iommu_type1_info_cap_migration = defineStruct('vfio_iommu_type1_info_cap_migration', 32, {
  header: { type: vfio_info_cap_header, offset: 0 },
  flags: { type: 'u32', offset: 8 },
  pgsize_bitmap: { type: 'u64', offset: 16 },
  max_dirty_bitmap_size: { type: 'u64', offset: 24 },
})
/** Fields of `struct vfio_iommu_type1_info_cap_migration`. */
export type vfio_iommu_type1_info_cap_migration = StructFields<typeof vfio_iommu_type1_info_cap_migration>

/**
 * `struct vfio_iommu_type1_info_dma_avail` (12 bytes): `header` @0, `avail`
 * u32 @8. sizeof is 12, so without the 8-byte cap alignment of current
 * kernels the next capability is only 4-byte aligned.
 */
export const vfio_iommu_type1_info_dma_avail = defineStruct('vfio_iommu_type1_info_dma_avail', 12, {
  header: { type: vfio_info_cap_header, offset: 0 },
  avail: { type: 'u32', offset: 8 },
})
/** Fields of `struct vfio_iommu_type1_info_dma_avail`. */
export type vfio_iommu_type1_info_dma_avail = StructFields<typeof vfio_iommu_type1_info_dma_avail>
