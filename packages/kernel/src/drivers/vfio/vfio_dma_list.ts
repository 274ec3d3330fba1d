/**
 * The type1 mapping table (`iommu->dma_list`, an rb-tree in Linux): the user
 * DMA mappings of one container, non-overlapping, ordered by IOVA. A sorted
 * array with binary search is enough here (at most 65535 entries upstream).
 */
import type { IommuProt, VfioUserMm } from './iommu_types.ts'

/** One user DMA mapping (`struct vfio_dma`). */
export interface VfioDma {
  /** First IOVA (aligned to the container's smallest IOMMU page). */
  readonly iova: bigint
  /** Length in bytes. */
  readonly size: bigint
  /** User virtual address backing `iova` (updated by MAP_DMA with FLAG_VADDR). */
  vaddr: bigint
  /** What was asked of the IOMMU (without IOMMU_CACHE, which is per domain). */
  readonly prot: Omit<IommuProt, 'cache'>
  /** The address space that pinned the pages (they are unpinned through it). */
  readonly pinMm: VfioUserMm
  /** The address space whose locked_vm is charged (moves with MAP_DMA FLAG_VADDR from another process). */
  acctMm: VfioUserMm
  /** Physical address of each PAGE_SIZE page, in IOVA order. */
  readonly phys: readonly number[]
  /** Pages pinned through pin_user_pages (to unpin); PFNMAP pages are not in here. */
  readonly pinned: readonly { readonly vaddr: number; readonly phys: number }[]
  /** Pages charged to `mm.lockedVm` (pinned pages; PFNMAP pages are not counted). */
  readonly lockedPages: number
  /** UNMAP_DMA with FLAG_VADDR invalidated the vaddr (DMA continues). */
  vaddrInvalid: boolean
}

/** Sorted, non-overlapping set of {@link VfioDma}. */
export class VfioDmaList {
  private readonly items: VfioDma[] = []

  /** Number of mappings. */
  get length(): number {
    return this.items.length
  }

  /** All mappings in IOVA order (a copy). */
  all(): VfioDma[] {
    return this.items.slice()
  }

  /** Index of the first mapping whose end is above `iova` (`items.length` if none). */
  firstEndAfter(iova: bigint): number {
    let lo = 0
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const d = this.items[mid]!
      if (d.iova + d.size > iova) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** The mapping at index `i` (see firstEndAfter). */
  at(i: number): VfioDma | undefined {
    return this.items[i]
  }

  /**
   * vfio_find_dma(start, size): a mapping with `start < end && start + size > iova`.
   * With `size = 0` that is a mapping strictly containing `start` past its first byte.
   * `end` is computed without wrapping (callers reject wrapping ranges first).
   */
  find(start: bigint, size: bigint): VfioDma | undefined {
    const d = this.items[this.firstEndAfter(start)]
    return d !== undefined && d.iova < start + size ? d : undefined
  }

  /** Inserts a mapping that overlaps none. */
  insert(dma: VfioDma): void {
    const i = this.firstEndAfter(dma.iova)
    this.items.splice(i, 0, dma)
  }

  /** Removes `dma` (by identity). */
  remove(dma: VfioDma): void {
    const i = this.firstEndAfter(dma.iova)
    if (this.items[i] === dma) this.items.splice(i, 1)
  }

  /** Removes every mapping. */
  clear(): void {
    this.items.length = 0
  }
}
