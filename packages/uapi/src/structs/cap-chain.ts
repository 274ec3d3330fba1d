// Capability chains of VFIO info ioctls (VFIO_IOMMU_GET_INFO here).
//
// An info buffer starts with the fixed struct; when `flags & CAPS` and
// `cap_offset != 0`, capabilities follow, each starting with a
// vfio_info_cap_header whose `next` is the offset of the following one from
// the START OF THE INFO BUFFER (0 ends the chain). The kernel builds the chain
// with vfio_info_cap_add() (appending at the tail) and vfio_info_cap_shift()
// (adding the struct size to every `next`), drivers/vfio/vfio_main.c.
// Since 2023 ("vfio: align capability structures") every capability is padded
// to a multiple of 8 bytes; 6.1-era kernels packed them (dma_avail is 12 bytes,
// so the iova_range after it started at a 4-byte-aligned offset).

import { requireBytes } from '../layout.ts'
import { vfio_info_cap_header } from './common.ts'
import {
  vfio_iommu_type1_info_cap_iova_range,
  vfio_iommu_type1_info_cap_migration,
  vfio_iommu_type1_info_dma_avail,
  type vfio_iommu_type1_info_cap_iova_range_input,
} from './iommu.ts'
import type { StructInput } from './common.ts'
import {
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
} from '../vfio.ts'

/** One capability found by {@link walkCapChain}: where it starts and its header. */
export interface CapChainEntry {
  /** Offset of the capability from the start of the info buffer. */
  offset: number
  header: vfio_info_cap_header
}

/**
 * Walks a capability chain. `bytes` is the whole info buffer (starting at the
 * fixed struct), `capOffset` the struct's `cap_offset` (0 = no chain → `[]`).
 * @throws RangeError if a header lies outside `bytes` or the chain loops.
 *   (Kernel-built chains never do; this guards user-side code reading junk.)
 */
export function walkCapChain(bytes: Uint8Array, capOffset: number): CapChainEntry[] {
  const entries: CapChainEntry[] = []
  const seen = new Set<number>()
  for (let off = capOffset; off !== 0;) {
    if (seen.has(off)) throw new RangeError(`capability chain loops back to offset ${off}`)
    seen.add(off)
    requireBytes(`capability header at ${off}`, bytes, off, vfio_info_cap_header.size)
    const header = vfio_info_cap_header.decode(bytes, off)
    entries.push({ offset: off, header })
    off = header.next
  }
  return entries
}

/** A decoded type1 IOMMU info capability, tagged by kind, with its offset in the info buffer. */
export type IommuInfoCap =
  | { kind: 'iova_range'; offset: number; cap: vfio_iommu_type1_info_cap_iova_range }
  | { kind: 'migration'; offset: number; cap: vfio_iommu_type1_info_cap_migration }
  | { kind: 'dma_avail'; offset: number; cap: vfio_iommu_type1_info_dma_avail }
  | { kind: 'unknown'; offset: number; cap: { header: vfio_info_cap_header } }

/**
 * Walks and decodes the capability chain of a `VFIO_IOMMU_GET_INFO` answer.
 * Known ids (IOVA_RANGE 1, MIGRATION 2, DMA_AVAIL 3) are decoded fully,
 * others are returned as `kind: 'unknown'` with their header.
 * @throws RangeError as {@link walkCapChain}, or if a capability body is truncated.
 */
export function decodeIommuInfoCaps(bytes: Uint8Array, capOffset: number): IommuInfoCap[] {
  return walkCapChain(bytes, capOffset).map(({ offset, header }): IommuInfoCap => {
    switch (header.id) {
      case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE:
        return { kind: 'iova_range', offset, cap: vfio_iommu_type1_info_cap_iova_range.decode(bytes, offset) }
      case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION:
        return { kind: 'migration', offset, cap: vfio_iommu_type1_info_cap_migration.decode(bytes, offset) }
      case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL:
        return { kind: 'dma_avail', offset, cap: vfio_iommu_type1_info_dma_avail.decode(bytes, offset) }
      default:
        return { kind: 'unknown', offset, cap: { header } }
    }
  })
}

/** Header input of a capability to build: `next` is computed by the builder. */
export interface CapHeaderInput {
  id: number
  version: number
}

type WithBuiltHeader<T> = Omit<T, 'header'> & { header: CapHeaderInput }

/** A type1 IOMMU info capability to put in a chain (the header's `next` is filled in). */
export type IommuInfoCapInput =
  | { kind: 'iova_range'; cap: WithBuiltHeader<vfio_iommu_type1_info_cap_iova_range_input> }
  | { kind: 'migration'; cap: WithBuiltHeader<StructInput<typeof vfio_iommu_type1_info_cap_migration>> }
  | { kind: 'dma_avail'; cap: WithBuiltHeader<StructInput<typeof vfio_iommu_type1_info_dma_avail>> }

/** Where and how to lay out a chain. */
export interface CapChainLayout {
  /** Offset of the first capability in the info buffer: `sizeof` the fixed struct (24 for type1 info). */
  start: number
  /** Each capability's size is rounded up to this: 8 on current kernels, 1 on 6.1-era kernels. */
  align: 1 | 4 | 8
}

/** A built chain: the bytes to copy at `start` in the info buffer, and where each capability landed. */
export interface BuiltCapChain {
  /** Chain bytes (padding zeroed); they belong at offset `start` of the info buffer. */
  bytes: Uint8Array
  /** Offset of each capability in the info buffer, in input order. */
  offsets: number[]
  /** `start + bytes.length`: the `argsz` the caller needs to receive the whole chain. */
  end: number
}

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a

function capLength(c: IommuInfoCapInput): number {
  switch (c.kind) {
    case 'iova_range': return vfio_iommu_type1_info_cap_iova_range.byteLength({ ...c.cap, header: { ...c.cap.header, next: 0 } })
    case 'migration': return vfio_iommu_type1_info_cap_migration.size
    case 'dma_avail': return vfio_iommu_type1_info_dma_avail.size
  }
}

/**
 * Builds a type1 IOMMU info capability chain, as the kernel would: caps in
 * the given order, each padded to `layout.align`, `next` = absolute offset of
 * the following cap (0 for the last). With no caps, returns empty bytes.
 * The upstream kernel order is migration, dma_avail, iova_range.
 */
export function buildIommuInfoCapChain(caps: readonly IommuInfoCapInput[], layout: CapChainLayout): BuiltCapChain {
  const offsets: number[] = []
  let end = layout.start
  for (const c of caps) {
    offsets.push(end)
    end += roundUp(capLength(c), layout.align)
  }
  const bytes = new Uint8Array(end - layout.start)
  caps.forEach((c, i) => {
    const next = i + 1 < caps.length ? offsets[i + 1]! : 0
    const at = offsets[i]! - layout.start
    switch (c.kind) {
      case 'iova_range':
        vfio_iommu_type1_info_cap_iova_range.encodeInto({ ...c.cap, header: { ...c.cap.header, next } }, bytes, at)
        break
      case 'migration':
        vfio_iommu_type1_info_cap_migration.encodeInto({ ...c.cap, header: { ...c.cap.header, next } }, bytes, at)
        break
      case 'dma_avail':
        vfio_iommu_type1_info_dma_avail.encodeInto({ ...c.cap, header: { ...c.cap.header, next } }, bytes, at)
        break
    }
  })
  return { bytes, offsets, end }
}
