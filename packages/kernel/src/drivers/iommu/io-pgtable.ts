/**
 * The generic page-table API the IOMMU drivers use (Linux
 * `include/linux/io-pgtable.h` and `drivers/iommu/io-pgtable.c`, adapted):
 * a driver describes its hardware in an {@link IoPgtableCfg}, gets
 * {@link IoPgtableOps} from {@link allocIoPgtableOps}, and maps/unmaps IOVA
 * ranges through them. The tables are real descriptors written into emulated
 * RAM (through a {@link PageTableMemory}), so the SMMU model walks exactly
 * what the kernel wrote.
 *
 * Differences from Linux, kept small and documented (decision 0800):
 * - errors are thrown as {@link KernelError} instead of returned as -errno;
 * - `mapPages` maps all `pgcount` pages (Linux's op stops at the end of one
 *   table and the IOMMU core loops); on failure it unmaps what that call
 *   mapped, as the core's `iommu_map` unwinding does, then throws;
 * - `unmapPages` likewise covers all `pgcount` pages, stopping at the first
 *   hole (the core's `iommu_unmap` loop stops there too).
 */
import type { Kernel } from '../../kernel.ts'
import { kerr } from '../../errno.ts'
import { allocArmLpaeS1, type ArmLpaeOps } from './io-pgtable-arm.ts'

/** `include/linux/iommu.h` protection flags: DMA may read. */
export const IOMMU_READ = 1 << 0
/** DMA may write. */
export const IOMMU_WRITE = 1 << 1
/** Cacheable, coherent memory (Normal write-back, inner-shareable). */
export const IOMMU_CACHE = 1 << 2
/** Not executable (instruction fetches fault). */
export const IOMMU_NOEXEC = 1 << 3
/** Device (MMIO) memory attributes. */
export const IOMMU_MMIO = 1 << 4
/** Privileged accesses only (no AP_UNPRIV). */
export const IOMMU_PRIV = 1 << 5

/** Page-table formats implemented (Linux `enum io_pgtable_fmt`, stage 1, 4 KiB granule). */
export type IoPgtableFmt = 'ARM_32_LPAE_S1' | 'ARM_64_LPAE_S1'

/**
 * TLB maintenance callbacks the driver supplies (Linux `struct iommu_flush_ops`;
 * the `cookie` is whatever the closures capture).
 */
export interface IommuFlushOps {
  /** Invalidate every TLB entry of this context (on free; `tlb_flush_all`). */
  tlbFlushAll(): void
  /** Invalidate [iova, iova+size) at `granule` steps, including walk caches, and sync (a table was removed). */
  tlbFlushWalk(iova: number, size: number, granule: number): void
  /** Queue invalidation of one leaf at `iova` (no sync: the IOMMU core's iotlb_sync follows). */
  tlbAddPage?(iova: number, granule: number): void
}

/** TCR fields for a stage-1 LPAE context (Linux `struct arm_lpae_s1_cfg.tcr`). */
export interface ArmLpaeS1Tcr {
  /** Intermediate physical size: 0 = 32, 1 = 36, 2 = 40, 3 = 42, 4 = 44, 5 = 48 bits. */
  ips: number
  /** Granule (TG0): 0 = 4 KiB. */
  tg: number
  /** Walk shareability: 2 = outer, 3 = inner. */
  sh: number
  /** Outer cacheability of walks: 0 = NC, 1 = WBWA. */
  orgn: number
  /** Inner cacheability of walks: 0 = NC, 1 = WBWA. */
  irgn: number
  /** T0SZ = 64 − ias. */
  tsz: number
}

/** What `allocIoPgtableOps` returns to the driver for a stage-1 LPAE table (Linux `struct arm_lpae_s1_cfg`). */
export interface ArmLpaeS1Cfg {
  /** Physical address of the root table (TTBR0 without ASID). */
  ttbr: bigint
  /** TCR/TTBCR fields; the driver composes the register (adding EAE, EPD1, …). */
  tcr: ArmLpaeS1Tcr
  /** MAIR (64 bits; MAIR0 = low 32, MAIR1 = high 32). Linux: 0xf404ff44. */
  mair: bigint
}

/** The hardware description a driver gives (Linux `struct io_pgtable_cfg`). */
export interface IoPgtableCfg {
  /** Page/block sizes the hardware supports (bit n = 2^n bytes); restricted by alloc to 4K|2M|1G. */
  pgsizeBitmap: bigint
  /** Input (IOVA) address bits. */
  ias: number
  /** Output (physical) address bits. */
  oas: number
  /** The walker snoops CPU caches (IDR0.CTTW): no cache maintenance, walk attributes WBWA/IS. */
  coherentWalk: boolean
  /** IO_PGTABLE_QUIRK_*: `armNs` sets NS in leaves and NSTable in tables. */
  quirks?: { armNs?: boolean }
  /** The driver's TLB maintenance (called on unmap and free, never on map). */
  tlb: IommuFlushOps
  /**
   * What an unmap of part of a block does (decision 0800):
   * - `'split'` (default; Linux 4.0 … 6.12): the block is split
   *   (`arm_lpae_split_blk_unmap`); `tlbAddPage` for removed leaves only;
   * - `'refuse'` (Linux ≥ 6.13, "Remove split on unmap behavior"): nothing is
   *   unmapped (0 bytes) and {@link IoPgtableCfg.warn} gets "Unmap of a partial
   *   large IOPTE is not allowed"; `tlbAddPage` for every removed entry,
   *   tables included (after their walk flush).
   * The arm-smmu driver picks `'refuse'` for the `upstream` profile.
   */
  blockUnmap?: 'split' | 'refuse'
  /**
   * Where io-pgtable's warnings go (the kernel log); ignored if absent.
   * Receives "WARN_ON: <function>: <what>" for Linux's WARN_ON paths (mapping
   * over a leaf, unmapping a hole, bad page size, address outside ias/oas)
   * and, with `blockUnmap: 'refuse'`, the exact WARN_ONCE text "Unmap of a
   * partial large IOPTE is not allowed" (Linux prints it once per boot: the
   * consumer dedups).
   */
  warn?: (msg: string) => void
  /** Filled by {@link allocIoPgtableOps}. */
  arm_lpae_s1_cfg?: ArmLpaeS1Cfg
}

/** Optional gather state of an unmap (Linux `struct iommu_iotlb_gather`). */
export interface IommuIotlbGather {
  /** Lazy (flush-queue) unmap: io-pgtable skips `tlbAddPage` (Linux `iommu_iotlb_gather_queued`). */
  queued: boolean
}

/** The operations on one page table (Linux `struct io_pgtable_ops`). */
export interface IoPgtableOps {
  /**
   * Maps `pgcount` pages of `pgsize` bytes from `iova` to `paddr` with IOMMU_*
   * `prot`; returns the bytes mapped (`pgsize * pgcount`; 0 for pgcount 0).
   * Throws KernelError: EINVAL (pgsize not in the bitmap, iova/paddr not
   * aligned to it, `prot` without READ or WRITE, non-integer arguments),
   * ERANGE (iova or paddr range outside ias/oas), EEXIST (a leaf of this size
   * or bigger is already there), ENOMEM (no page for a table). A block over
   * an installed table replaces the table and what it maps (Linux). After a
   * throw, nothing this call mapped is left mapped.
   */
  mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, prot: number): number
  /**
   * Unmaps `pgcount` pages of `pgsize` bytes from `iova`, splitting a bigger
   * block if needed; returns the bytes unmapped (stops at the first hole; 0 for
   * bad arguments, as Linux's WARN_ON paths). Calls `tlbAddPage` per leaf and
   * `tlbFlushWalk` per removed table; the caller then syncs.
   */
  unmapPages(iova: number, pgsize: number, pgcount: number, gather?: IommuIotlbGather): number
  /** Software walk: the physical address `iova` maps to, or 0 if unmapped (as Linux). */
  iovaToPhys(iova: number): number
}

/** Where the tables live: page allocation and 64-bit accesses to physical memory. */
export interface PageTableMemory {
  /** A zeroed, 4 KiB-aligned page; its physical address. Throws KernelError ENOMEM when none is left. */
  allocPage(): number
  /** Returns a page from {@link allocPage}. */
  freePage(pa: number): void
  /** Writes one descriptor (little-endian, as the walker reads it). */
  write64(pa: number, v: bigint): void
  /** Reads one descriptor. */
  read64(pa: number): bigint
}

/** The Linux owner name of io-pgtable pages in the kernel's page allocator. */
export const IO_PGTABLE_PAGE_OWNER = 'io-pgtable'

/**
 * A {@link PageTableMemory} over the kernel's page allocator (`kernel.pages`,
 * pages owned by "io-pgtable") and the board's physical memory.
 */
export function pageTableMemory(kernel: Kernel): PageTableMemory {
  const mem = kernel.sys.memory
  return {
    allocPage: () => kernel.pages.alloc(IO_PGTABLE_PAGE_OWNER),
    freePage: pa => kernel.pages.put(pa),
    write64: (pa, v) => mem.write64(pa, v),
    read64: pa => mem.read64(pa),
  }
}

/** Which implementation owns an ops object (so free can find it). */
const liveTables = new WeakMap<IoPgtableOps, ArmLpaeOps>()

/**
 * Allocates an empty page table of format `fmt` (Linux `alloc_io_pgtable_ops`)
 * and fills `cfg.arm_lpae_s1_cfg` (TTBR, TCR fields, MAIR) and restricts
 * `cfg.pgsizeBitmap` to what the format supports. Throws KernelError ENOMEM
 * for anything Linux answers with NULL (the arm-smmu driver turns NULL into
 * -ENOMEM): unsupported ias/oas/granule/quirk, or no page for the root table.
 */
export function allocIoPgtableOps(fmt: IoPgtableFmt, cfg: IoPgtableCfg, mem: PageTableMemory): IoPgtableOps {
  if (fmt !== 'ARM_32_LPAE_S1' && fmt !== 'ARM_64_LPAE_S1') kerr('ENOMEM', `io-pgtable: unsupported format ${String(fmt)}`)
  const impl = allocArmLpaeS1(fmt, cfg, mem)
  const ops: IoPgtableOps = {
    mapPages: (iova, paddr, pgsize, pgcount, prot) => impl.mapPages(iova, paddr, pgsize, pgcount, prot),
    unmapPages: (iova, pgsize, pgcount, gather) => impl.unmapPages(iova, pgsize, pgcount, gather),
    iovaToPhys: iova => impl.iovaToPhys(iova),
  }
  liveTables.set(ops, impl)
  return ops
}

/**
 * Frees a table (Linux `free_io_pgtable_ops`): flushes the whole TLB of the
 * context (`tlbFlushAll`), then frees every table page. Freeing twice (or an
 * object not from {@link allocIoPgtableOps}) does nothing.
 */
export function freeIoPgtableOps(ops: IoPgtableOps): void {
  const impl = liveTables.get(ops)
  if (impl === undefined) return
  liveTables.delete(ops)
  impl.free()
}

/**
 * Linux `iommu_pgsize`: the page size to use for the next step of mapping
 * `size` bytes from `iova` to `paddr` (the largest supported size both
 * addresses are aligned to and that fits), and how many pages of it to map
 * before a bigger page size could take over (at the next bigger alignment
 * boundary, if the rest is long enough for a bigger page). Returns
 * `{ pgsize: 0, count: 0 }` when no supported size fits (size or alignment
 * below the smallest page).
 */
export function iommuPgsize(pgsizeBitmap: bigint, iova: number, paddr: number, size: number): { pgsize: number; count: number } {
  const none = { pgsize: 0, count: 0 }
  if (![iova, paddr, size].every(v => Number.isSafeInteger(v) && v >= 0) || size === 0) return none
  const bIova = BigInt(iova)
  const bPaddr = BigInt(paddr)
  const bSize = BigInt(size)
  const addrMerge = bIova | bPaddr
  // Page sizes no bigger than size, and (when the addresses are not 0) no bigger than their alignment.
  let candidates = pgsizeBitmap & ((1n << BigInt(bitLength(bSize))) - 1n)
  if (addrMerge !== 0n) candidates &= (lowestBit(addrMerge) << 1n) - 1n
  if (candidates <= 0n) return none
  const pgsize = 1n << BigInt(bitLength(candidates) - 1)
  let span = bSize
  // The next bigger supported size, if any.
  const bigger = pgsizeBitmap & ~((pgsize << 1n) - 1n)
  if (bigger > 0n) {
    const next = lowestBit(bigger)
    // Only worth stopping at its boundary if iova and paddr are equally offset within it.
    if (((bIova ^ bPaddr) & (next - 1n)) === 0n) {
      const offset = next - (addrMerge & (next - 1n))
      if (offset + next <= bSize) span = offset
    }
  }
  return { pgsize: Number(pgsize), count: Number(span / pgsize) }
}

/** Number of bits needed for `v` > 0 (position of the top set bit + 1). */
function bitLength(v: bigint): number {
  return v.toString(2).length
}

/** The lowest set bit of `v` > 0, as a value. */
function lowestBit(v: bigint): bigint {
  return v & -v
}
