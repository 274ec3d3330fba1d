/**
 * Models include/linux/mm_types.h `struct vm_area_struct` and the VM_* flags
 * of include/linux/mm.h: one contiguous range of a process address space with
 * one protection and one backing (anonymous pages, or a device's physical
 * range installed by the driver's mmap with remap_pfn_range).
 */
import { kerr } from '../errno.ts'
import type { OpenFile } from '../fs/file.ts'

/** VM_* flags (include/linux/mm.h). */
export const VM = {
  READ: 0x1,
  WRITE: 0x2,
  EXEC: 0x4,
  SHARED: 0x8,
  MAYREAD: 0x10,
  MAYWRITE: 0x20,
  MAYEXEC: 0x40,
  MAYSHARE: 0x80,
  /** mlock'ed / MAP_LOCKED: counted in mm->locked_vm. */
  LOCKED: 0x2000,
  /** Memory-mapped I/O: no struct page behind it; gup refuses it. */
  IO: 0x4000,
  DONTEXPAND: 0x40000,
  /** Raw PFN mapping (remap_pfn_range). */
  PFNMAP: 0x400,
  DONTDUMP: 0x4000000,
} as const

/** A mapping. Fields are public for drivers' mmap handlers (vm_start, vm_end, vm_pgoff, vm_flags). */
export class Vma {
  /** First address (page aligned). */
  start: number
  /** End address, exclusive (page aligned). */
  end: number
  /** Offset into the file, in pages (vm_pgoff). */
  pgoff: number
  /** VM_* flags. */
  flags: number
  /** The mapped file (holds a reference), or undefined for anonymous memory. */
  readonly file: OpenFile | undefined
  /**
   * For a PFN mapping: the physical address mapped at `start`. Set by
   * {@link remapPfnRange}; undefined for anonymous memory.
   */
  pfnBase: number | undefined = undefined
  /** Optional close hook (vm_ops->close), run when this piece is unmapped. */
  onClose: ((vma: Vma) => void) | undefined = undefined

  constructor(start: number, end: number, flags: number, pgoff: number, file: OpenFile | undefined) {
    this.start = start
    this.end = end
    this.flags = flags
    this.pgoff = pgoff
    this.file = file
  }

  /** Length in bytes. */
  get length(): number {
    return this.end - this.start
  }

  /** True for anonymous memory. */
  get isAnonymous(): boolean {
    return this.file === undefined && this.pfnBase === undefined
  }
}

/**
 * remap_pfn_range: maps the physical range starting at `phys` at `vma.start`
 * for the whole VMA, and marks it VM_IO | VM_PFNMAP | VM_DONTEXPAND |
 * VM_DONTDUMP as Linux does. Loads and stores there become bus accesses.
 * `size` must equal the VMA's length (EINVAL otherwise); `phys` page aligned.
 */
export function remapPfnRange(vma: Vma, phys: number, size: number): void {
  if (size !== vma.length || phys % 4096 !== 0 || phys < 0) kerr('EINVAL', 'remap_pfn_range: bad range')
  vma.pfnBase = phys
  vma.flags |= VM.IO | VM.PFNMAP | VM.DONTEXPAND | VM.DONTDUMP
}
