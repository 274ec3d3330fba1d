/**
 * The small interfaces the VFIO container and the type1 IOMMU backend are
 * written against. The real objects come from elsewhere and are wired by
 * whoever builds the kernel:
 *
 * - {@link IommuDomainOps}: an IOMMU domain of the IOMMU core (drivers/iommu,
 *   e.g. the arm-smmu driver driving the MMU-400 model). One per group, or
 *   shared by several groups (then pass the same object).
 * - {@link VfioUserMm}: the calling process's address space (mm/): uaccess,
 *   pin_user_pages and the `locked_vm` counter. `MmStruct` of mm/mm_types.ts
 *   satisfies it structurally.
 * - {@link VfioTask}: who makes the ioctl (mm, CAP_IPC_LOCK, RLIMIT_MEMLOCK).
 * - {@link VfioIommuGroup}: what the group layer hands the container on
 *   VFIO_GROUP_SET_CONTAINER.
 *
 * Errors are thrown as KernelError (errno.ts), as Linux returns -Exxx.
 */

/**
 * Protection of one IOMMU mapping, as the `prot` bits of Linux `iommu_map()`
 * (include/linux/iommu.h: IOMMU_READ, IOMMU_WRITE, IOMMU_CACHE, IOMMU_NOEXEC).
 * The page-table code sets the XN bit iff `noexec`.
 */
export interface IommuProt {
  readonly read: boolean
  readonly write: boolean
  /** IOMMU_CACHE: coherent (cacheable) transaction attributes. */
  readonly cache: boolean
  /**
   * IOMMU_NOEXEC: the device may not fetch instructions from this mapping
   * (ARM XN). The `rfc-v5` profile sets it unless the user passed
   * VFIO_DMA_MAP_FLAG_EXEC; `upstream` type1 never sets it.
   */
  readonly noexec: boolean
}

/**
 * IOMMU capabilities type1 asks about (`iommu_capable()` / `domain_has_cap`):
 * - `cache_coherency`: IOMMU_CAP_CACHE_COHERENCY. rfc-v5 (3.15) maps with
 *   IOMMU_CACHE and answers VFIO_DMA_CC_IOMMU from it.
 * - `enforce_cache_coherency`: the domain op `enforce_cache_coherency()`
 *   succeeded (upstream answers VFIO_DMA_CC_IOMMU from this; arm-smmu v2 has
 *   no such op, so an MMU-400 domain reports false).
 * - `dma_exec`: the RFC v5 IOMMU_CAP_DMA_EXEC (the IOMMU can make mappings
 *   executable or not; arm-smmu with the RFC patch: true).
 * - `noexec`: upstream IOMMU_CAP_NOEXEC.
 */
export type IommuCap = 'cache_coherency' | 'enforce_cache_coherency' | 'dma_exec' | 'noexec'

/**
 * A reserved IOVA region (`struct iommu_resv_region`). Type1 removes every
 * kind except `direct-relaxable` from the usable IOVA ranges. An ARM SMMU
 * reports the software MSI window `{ start: 0x0800_0000n, length: 0x10_0000n, type: 'sw-msi' }`.
 */
export interface IommuResvRegion {
  readonly start: bigint
  readonly length: bigint
  readonly type: 'direct' | 'direct-relaxable' | 'reserved' | 'msi' | 'sw-msi'
}

/** An IOMMU domain: one I/O page table the devices of its groups translate through. */
export interface IommuDomainOps {
  /** Page sizes the domain can map (bit n set = 2^n bytes), e.g. 0x40201000n for 4K|2M|1G. */
  readonly pgsizeBitmap: bigint
  /** Input addresses the domain can translate, inclusive (domain->geometry). Default: all 64 bits. */
  readonly aperture?: { readonly start: bigint; readonly end: bigint }
  /** Reserved IOVA regions of the groups attached to this domain (iommu_get_group_resv_regions). */
  readonly reservedRegions?: readonly IommuResvRegion[]
  /** iommu_capable() for the devices behind this domain. */
  capable(cap: IommuCap): boolean
  /**
   * iommu_map(): maps `size` bytes (a multiple of the smallest page size)
   * from `iova` to the physically contiguous `paddr`. All or nothing.
   * @throws KernelError e.g. ERANGE (outside the input/output address size), ENOMEM, EBUSY (already mapped).
   */
  map(iova: bigint, paddr: number, size: number, prot: IommuProt): void
  /** iommu_unmap(): returns the number of bytes unmapped (may exceed `size` for block mappings; 0 if none). */
  unmap(iova: bigint, size: number): number
}

/** One pinned user page (same shape as `PinnedPage` of mm/mm_types.ts). */
export interface VfioPinnedPage {
  readonly vaddr: number
  /** Physical address of the page (page aligned). */
  readonly phys: number
}

/**
 * The address space of the process making the ioctl (a subset of
 * `MmStruct`, mm/mm_types.ts). Addresses are user virtual addresses.
 */
export interface VfioUserMm {
  /** copy_from_user: throws KernelError('EFAULT') if any byte is not readable. */
  copyFromUser(addr: number, len: number): Uint8Array
  /** copy_to_user: throws KernelError('EFAULT') if any byte is not writable (nothing written then). */
  copyToUser(addr: number, data: Uint8Array): void
  /**
   * pin_user_pages(FOLL_LONGTERM [| FOLL_WRITE]) of `npages` pages from the
   * page-aligned `addr`, all or nothing. Throws EFAULT for an unmapped page,
   * a VM_IO/VM_PFNMAP page, or a read-only page when `write`.
   */
  pinUserPages(addr: number, npages: number, write: boolean): readonly VfioPinnedPage[]
  /** unpin_user_pages. */
  unpinUserPages(pages: readonly VfioPinnedPage[]): void
  /**
   * Optional: follow_pfn for VM_PFNMAP mappings (device MMIO mmap'd into the
   * process). Type1 accepts such pages (peer-to-peer DMA) without pinning or
   * counting them. Throws EFAULT if `addr` is not in a PFNMAP vma (or it is read-only and `write`).
   */
  followPfn?(addr: number, write: boolean): number
  /** mm->locked_vm, in pages. Type1 adds pinned pages here and removes them on unmap. */
  lockedVm: number
}

/** The calling task, as type1 sees it. */
export interface VfioTask {
  readonly mm: VfioUserMm
  /** capable(CAP_IPC_LOCK): pinned pages are still accounted, but not limited. */
  readonly capIpcLock: boolean
  /** rlimit(RLIMIT_MEMLOCK) in bytes; `Infinity` for RLIM_INFINITY. */
  readonly rlimitMemlock: number
}

/**
 * What the group layer passes to the container when a group joins it
 * (VFIO_GROUP_SET_CONTAINER) and when it leaves.
 */
export interface VfioIommuGroup {
  /** The IOMMU group id (the N of /dev/vfio/N). */
  readonly id: number
  /**
   * The domain the group's devices are attached to while in this container
   * (type1 allocates one per group and merges compatible ones; here the IOMMU
   * core decides: pass the same object for groups sharing a domain).
   */
  readonly domain: IommuDomainOps
  /**
   * iommu_group_has_isolated_msi(): MSI writes cannot be forged by the
   * device (GICv3 ITS). Upstream type1 refuses a group without it unless
   * `allowUnsafeInterrupts` (-EPERM). Default true.
   */
  readonly msiIsolated?: boolean
}

/** The host page size (4 KiB; arm64 with 4K pages). */
export const PAGE_SIZE = 4096
/** `PAGE_MASK` as a 64-bit value. */
export const PAGE_MASK_U64 = 0xffff_ffff_ffff_f000n
/** 2^64 − 1. */
export const U64_MAX = 0xffff_ffff_ffff_ffffn
