/**
 * Models include/linux/mm_types.h `struct mm_struct` as kernel code uses it:
 * copy to/from user memory (uaccess), pinning user pages for DMA (gup), and
 * the locked-page accounting that RLIMIT_MEMLOCK limits. The implementation
 * is {@link UserMm} in mm/mmap.ts.
 */

/** One pinned user page: its user address and the physical page behind it. */
export interface PinnedPage {
  readonly vaddr: number
  /** Physical address of the page (page aligned). */
  readonly phys: number
}

/** A process address space, as drivers see it. */
export interface MmStruct {
  /** copy_from_user: `len` bytes at user address `addr`; throws EFAULT if any byte is not readable user memory. */
  copyFromUser(addr: number, len: number): Uint8Array
  /** copy_to_user: writes `data` at user address `addr`; throws EFAULT (writing nothing) if any byte is not writable user memory. */
  copyToUser(addr: number, data: Uint8Array): void
  /**
   * pin_user_pages(FOLL_LONGTERM): faults in and pins `npages` pages from the
   * page-aligned `addr` (all or nothing). A pinned page stays allocated, even
   * after munmap, until {@link MmStruct.unpinUserPages}. EFAULT on an
   * unmapped page, a PFNMAP/IO mapping, or (with `write`) a read-only one.
   * Does not account RLIMIT_MEMLOCK: callers do that with accountLockedVm.
   */
  pinUserPages(addr: number, npages: number, write: boolean): PinnedPage[]
  /** unpin_user_pages: drops the pins taken by pinUserPages. */
  unpinUserPages(pages: readonly PinnedPage[]): void
  /**
   * follow_pfn for VM_PFNMAP mappings (what VFIO type1 does for device MMIO
   * mapped into the process): the physical address behind `addr`, or EFAULT.
   */
  followPfn(addr: number, write: boolean): number
  /** Pages accounted as locked (mm->locked_vm). */
  lockedVm: number
}
