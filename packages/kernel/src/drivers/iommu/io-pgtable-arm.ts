/**
 * ARM LPAE stage-1 page tables with the 4 KiB granule, written into emulated
 * RAM: the behaviour of Linux `drivers/iommu/io-pgtable-arm.c` for the
 * ARM_32_LPAE_S1 and ARM_64_LPAE_S1 formats (facts read from that file and
 * spec/smmu.md §3.4/§5.3/§5.4; own code).
 *
 * Shape of the tables: levels 0–3 (512 GiB, 1 GiB, 2 MiB, 4 KiB per entry);
 * the walk starts at the level that covers `ias` bits (ias 32 → level 1 with
 * a 4-entry root table, ias 48 → level 0). Every table, including the root,
 * takes one 4 KiB page.
 *
 * What Linux does that a learner might not expect (decision 0800):
 * - Unmapping part of a block splits it: a new table maps the rest of the
 *   block with the same attributes (`arm_lpae_split_blk_unmap`) — up to
 *   Linux 6.12. Since 6.13 the unmap is refused instead (0 bytes, a WARN);
 *   `IoPgtableCfg.blockUnmap` chooses.
 * - Tables are NOT freed when their last leaf goes: they stay until an unmap
 *   (or a block map) covers the whole range of the entry that points to them,
 *   or until the table is freed.
 * - Mapping a block where a table is installed frees that table and anything
 *   still mapped through it (`arm_lpae_init_pte`); mapping inside or over an
 *   existing leaf is refused with EEXIST.
 * - Without a coherent walker, table descriptors carry software bit 55
 *   (ARM_LPAE_PTE_SW_SYNC: "this entry has been cleaned to memory").
 */
import { isKernelError, kerr } from '../../errno.ts'
import {
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
  type ArmLpaeS1Tcr,
  iommuPgsize,
  type IoPgtableCfg,
  type IoPgtableFmt,
  type IommuFlushOps,
  type IommuIotlbGather,
  type PageTableMemory,
} from './io-pgtable.ts'

/** One live LPAE table: the operations plus `free`. */
export interface ArmLpaeOps {
  mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, prot: number): number
  unmapPages(iova: number, pgsize: number, pgcount: number, gather?: IommuIotlbGather): number
  iovaToPhys(iova: number): number
  free(): void
}

// ---- Geometry (4 KiB granule) -------------------------------------------

/** ARM_LPAE_MAX_LEVELS: levels 0..3. */
const MAX_LEVELS = 4
const GRANULE = 0x1000
/** Descriptors per 4 KiB table. */
const PTES_PER_TABLE = 512
const BITS_PER_LEVEL = 9
/** Addresses supported with the 4 KiB granule (no LPA2). */
const MAX_ADDR_BITS = 48

/** log2 of the bytes one entry at `lvl` maps: 39, 30, 21, 12. */
function levelShift(lvl: number): number {
  return 12 + BITS_PER_LEVEL * (MAX_LEVELS - 1 - lvl)
}

/** Bytes one entry at `lvl` maps (ARM_LPAE_BLOCK_SIZE). */
function blockSize(lvl: number): number {
  return 2 ** levelShift(lvl)
}

// ---- Descriptor bits (ARMv8 ARM D5.3; io-pgtable-arm.c ARM_LPAE_PTE_*) ----

const PTE_TYPE_MASK = 3n
const PTE_TYPE_BLOCK = 1n
const PTE_TYPE_TABLE = 3n
const PTE_TYPE_PAGE = 3n
/** Output/next-table address, bits 47:12. */
const PTE_ADDR_MASK = ((1n << 48n) - 1n) & ~0xfffn
const PTE_NSTABLE = 1n << 63n
/** UXN/XN (54) and PXN (53): Linux always sets both. */
const PTE_XN = 3n << 53n
const PTE_DBM = 1n << 51n
const PTE_AF = 1n << 10n
const PTE_SH_OS = 2n << 8n
const PTE_SH_IS = 3n << 8n
const PTE_NS = 1n << 5n
const PTE_AP_UNPRIV = 1n << 6n
const PTE_AP_RDONLY = 1n << 7n
const PTE_NG = 1n << 11n
const PTE_ATTRINDX_SHIFT = 2n
/** Software bit: the entry has been made visible to a non-coherent walker. */
const PTE_SW_SYNC = 1n << 55n
/** Attributes a split copies from the block to its pieces (lower 11:2, upper XN|DBM). */
const PTE_ATTR_MASK = (0x3ffn << 2n) | PTE_XN | PTE_DBM

/** MAIR indices and attributes Linux programs (spec §3.4). */
const MAIR_ATTR_IDX_CACHE = 1n
const MAIR_ATTR_IDX_DEV = 2n
/** idx0 Normal-NC 0x44, idx1 WBRWA 0xff, idx2 Device-nGnRE 0x04, idx3 inner-NC/outer-WBRWA 0xf4. */
const LINUX_S1_MAIR = 0x44n | (0xffn << 8n) | (0x04n << 16n) | (0xf4n << 24n)

/** TCR encodings (ARM_LPAE_TCR_*). */
const TCR_SH_OS = 2
const TCR_SH_IS = 3
const TCR_RGN_NC = 0
const TCR_RGN_WBWA = 1
const TCR_TG0_4K = 0
/** Output size → TCR.IPS/PS field. */
const TCR_PS: Readonly<Record<number, number>> = { 32: 0, 36: 1, 40: 2, 42: 3, 44: 4, 48: 5 }

const SZ_4K = 0x1000n
const SZ_2M = 0x200000n
const SZ_1G = 0x40000000n

function pteType(pte: bigint): bigint {
  return pte & PTE_TYPE_MASK
}

/** iopte_leaf: a page at level 3, a block above. */
function isLeaf(pte: bigint, lvl: number): boolean {
  return lvl === MAX_LEVELS - 1 ? pteType(pte) === PTE_TYPE_PAGE : pteType(pte) === PTE_TYPE_BLOCK
}

/** Address field of a descriptor. */
function pteAddr(pte: bigint): number {
  return Number(pte & PTE_ADDR_MASK)
}

/** A positive/zero integer a double holds exactly. */
function isIndex(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0
}

/**
 * The leaf attribute bits for IOMMU_* `prot` (Linux `arm_lpae_prot_to_pte`,
 * stage 1): nG, AP[2] read-only when READ without WRITE, AP[1] unprivileged
 * unless PRIV, AttrIndx (MMIO → Device, else CACHE → cacheable, else NC),
 * inner-shareable for CACHE else outer, XN|PXN for NOEXEC (MMIO alone does
 * not set XN), NS with the quirk, AF always.
 */
export function armLpaeS1ProtToPte(prot: number, nsQuirk: boolean): bigint {
  let pte = PTE_NG
  if ((prot & IOMMU_WRITE) === 0 && (prot & IOMMU_READ) !== 0) pte |= PTE_AP_RDONLY
  if ((prot & IOMMU_PRIV) === 0) pte |= PTE_AP_UNPRIV
  if (prot & IOMMU_MMIO) pte |= MAIR_ATTR_IDX_DEV << PTE_ATTRINDX_SHIFT
  else if (prot & IOMMU_CACHE) pte |= MAIR_ATTR_IDX_CACHE << PTE_ATTRINDX_SHIFT
  pte |= prot & IOMMU_CACHE ? PTE_SH_IS : PTE_SH_OS
  if (prot & IOMMU_NOEXEC) pte |= PTE_XN
  if (nsQuirk) pte |= PTE_NS
  return pte | PTE_AF
}

/**
 * Allocates an empty ARM_32_LPAE_S1 / ARM_64_LPAE_S1 table (Linux
 * `arm_32_lpae_alloc_pgtable_s1` → `arm_64_lpae_alloc_pgtable_s1`):
 * restricts `cfg.pgsizeBitmap` to 4K|2M|1G, clamps ias/oas to 48, and fills
 * `cfg.arm_lpae_s1_cfg`. Throws KernelError ENOMEM where Linux returns NULL.
 */
export function allocArmLpaeS1(fmt: IoPgtableFmt, cfg: IoPgtableCfg, mem: PageTableMemory): ArmLpaeOps {
  if (!Number.isInteger(cfg.ias) || !Number.isInteger(cfg.oas)) kerr('ENOMEM', 'io-pgtable-arm: bad ias/oas')
  if (fmt === 'ARM_32_LPAE_S1') {
    if (cfg.ias > 32 || cfg.oas > 40) kerr('ENOMEM', `io-pgtable-arm: ARM_32_LPAE_S1 needs ias <= 32 and oas <= 40 (got ${cfg.ias}/${cfg.oas})`)
    cfg.pgsizeBitmap &= SZ_4K | SZ_2M | SZ_1G
  }
  // arm_lpae_restrict_pgsizes: only the 4 KiB granule is modelled (the host page size of the model).
  if ((cfg.pgsizeBitmap & SZ_4K) === 0n) kerr('ENOMEM', 'io-pgtable-arm: only the 4 KiB granule is supported')
  cfg.pgsizeBitmap &= SZ_4K | SZ_2M | SZ_1G
  cfg.ias = Math.min(cfg.ias, MAX_ADDR_BITS)
  cfg.oas = Math.min(cfg.oas, MAX_ADDR_BITS)
  // Below 13 bits there is nothing to index (Linux would compute 0 levels).
  if (cfg.ias < 13) kerr('ENOMEM', `io-pgtable-arm: ias ${cfg.ias} too small`)
  const ips = TCR_PS[cfg.oas]
  if (ips === undefined) kerr('ENOMEM', `io-pgtable-arm: unsupported oas ${cfg.oas}`)
  const coherent = cfg.coherentWalk
  const tcr: ArmLpaeS1Tcr = {
    ips,
    tg: TCR_TG0_4K,
    sh: coherent ? TCR_SH_IS : TCR_SH_OS,
    orgn: coherent ? TCR_RGN_WBWA : TCR_RGN_NC,
    irgn: coherent ? TCR_RGN_WBWA : TCR_RGN_NC,
    tsz: 64 - cfg.ias,
  }
  const table = new ArmLpaeS1Table(cfg, mem)
  cfg.arm_lpae_s1_cfg = { ttbr: BigInt(table.pgd), tcr, mair: LINUX_S1_MAIR }
  return table
}

/** One stage-1 table tree. */
class ArmLpaeS1Table implements ArmLpaeOps {
  private readonly mem: PageTableMemory
  private readonly tlb: IommuFlushOps
  private readonly ias: number
  private readonly oas: number
  private readonly pgsizeBitmap: bigint
  private readonly coherent: boolean
  private readonly nsQuirk: boolean
  /** Linux ≥ 6.13: no block splitting on unmap (see IoPgtableCfg.blockUnmap). */
  private readonly refuseSplit: boolean
  private readonly warn: ((msg: string) => void) | undefined
  /** Level of the root table. */
  private readonly startLevel: number
  /** log2 of the root table's entry count. */
  private readonly pgdBits: number
  /** Physical address of the root table. */
  readonly pgd: number
  /**
   * Every table page this tree owns. Table pointers read back from RAM are
   * followed only into these pages, so a device that DMAs over the tables can
   * confuse the translation but never make the kernel free or write a page it
   * does not own.
   */
  private readonly owned = new Set<number>()
  private freed = false

  constructor(cfg: IoPgtableCfg, mem: PageTableMemory) {
    this.mem = mem
    this.tlb = cfg.tlb
    this.ias = cfg.ias
    this.oas = cfg.oas
    this.pgsizeBitmap = cfg.pgsizeBitmap
    this.coherent = cfg.coherentWalk
    this.nsQuirk = cfg.quirks?.armNs === true
    this.refuseSplit = cfg.blockUnmap === 'refuse'
    this.warn = cfg.warn
    const vaBits = cfg.ias - 12
    const levels = Math.ceil(vaBits / BITS_PER_LEVEL)
    this.startLevel = MAX_LEVELS - levels
    this.pgdBits = vaBits - BITS_PER_LEVEL * (levels - 1)
    this.pgd = this.allocTable()
  }

  // ---- helpers ----

  private allocTable(): number {
    const pa = this.mem.allocPage()
    this.owned.add(pa)
    return pa
  }

  private freeTablePage(pa: number): void {
    this.owned.delete(pa)
    this.mem.freePage(pa)
  }

  /** ARM_LPAE_LVL_IDX: the entry of `iova` in a table at `lvl` (the root table is 2^pgdBits entries). */
  private index(iova: number, lvl: number): number {
    const bits = lvl === this.startLevel ? this.pgdBits : BITS_PER_LEVEL
    return Math.floor(iova / 2 ** levelShift(lvl)) % 2 ** bits
  }

  /** The table a table descriptor points to, or undefined if that is not one of our pages. */
  private deref(pte: bigint): number | undefined {
    const pa = pteAddr(pte)
    return this.owned.has(pa) ? pa : undefined
  }

  private read(pa: number): bigint {
    return this.mem.read64(pa)
  }

  private write(pa: number, v: bigint): void {
    this.mem.write64(pa, v)
  }

  /** A leaf (page at level 3, block above) for `paddr` with attribute bits `prot`. */
  private leafPte(paddr: number, prot: bigint, lvl: number): bigint {
    const type = lvl === MAX_LEVELS - 1 ? PTE_TYPE_PAGE : PTE_TYPE_BLOCK
    return prot | type | (BigInt(paddr) & PTE_ADDR_MASK)
  }

  /**
   * arm_lpae_install_table: points `ptep` at `table`. A non-coherent walker
   * needs the entry cleaned to memory first; Linux then marks it SW_SYNC.
   */
  private installTable(table: number, ptep: number): bigint {
    let pte = (BigInt(table) & PTE_ADDR_MASK) | PTE_TYPE_TABLE
    if (this.nsQuirk) pte |= PTE_NSTABLE
    if (!this.coherent) pte |= PTE_SW_SYNC
    this.write(ptep, pte)
    return pte
  }

  /** True if `pgsize` is one supported page size that a level of this table can map. */
  private validPgsize(pgsize: number): boolean {
    if (!isIndex(pgsize) || pgsize === 0) return false
    const b = BigInt(pgsize)
    if ((b & (b - 1n)) !== 0n || (b & this.pgsizeBitmap) !== b) return false
    return pgsize <= blockSize(this.startLevel)
  }

  /** A Linux WARN_ON that makes the operation fail with `code`. */
  private warnFail(code: string, what: string): never {
    this.warn?.(`WARN_ON: ${what}`)
    return kerr(code, `io-pgtable: ${what}`)
  }

  /** A Linux WARN_ON on an unmap path: 0 bytes unmapped. */
  private warnZero(what: string): number {
    this.warn?.(`WARN_ON: ${what}`)
    return 0
  }

  // ---- map ----

  mapPages(iova: number, paddr: number, pgsize: number, pgcount: number, prot: number): number {
    if (this.freed) kerr('EINVAL', 'io-pgtable: table already freed')
    if (!isIndex(iova) || !isIndex(paddr) || !isIndex(pgcount) || !Number.isSafeInteger(prot)) kerr('EINVAL', 'io-pgtable: bad argument')
    // Same order of checks as arm_lpae_map_pages: page size, then range, then permissions.
    if (!this.validPgsize(pgsize)) this.warnFail('EINVAL', `arm_lpae_map_pages: unsupported page size 0x${pgsize.toString(16)}`)
    if (iova >= 2 ** this.ias || paddr >= 2 ** this.oas) this.warnFail('ERANGE', 'arm_lpae_map_pages: address outside ias/oas')
    if ((prot & (IOMMU_READ | IOMMU_WRITE)) === 0) kerr('EINVAL', 'io-pgtable: no access requested')
    // Linux trusts its caller (iommu_map) for these; we check them (decision 0800).
    if (iova % pgsize !== 0 || paddr % pgsize !== 0) kerr('EINVAL', 'io-pgtable: address not aligned to the page size')
    if (pgcount === 0) return 0
    const size = pgsize * pgcount
    if (!Number.isSafeInteger(size) || iova + size > 2 ** this.ias || paddr + size > 2 ** this.oas) kerr('ERANGE', 'io-pgtable: range outside ias/oas')

    const pte = armLpaeS1ProtToPte(prot, this.nsQuirk)
    let done = 0
    try {
      while (done < pgcount) done += this.mapChunk(iova + done * pgsize, paddr + done * pgsize, pgsize, pgcount - done, pte)
    } catch (e) {
      // The IOMMU core unwinds a failed iommu_map by unmapping what was mapped.
      if (done > 0) this.unmapRange(iova, done * pgsize)
      throw e
    }
    return size
  }

  /**
   * Unmaps [iova, iova+size) as the IOMMU core's `iommu_unmap` does: page
   * sizes chosen from the IOVA alone (`iommu_pgsize(iova, iova, …)`),
   * stopping at the first hole.
   */
  private unmapRange(iova: number, size: number): void {
    let done = 0
    while (done < size) {
      const { pgsize, count } = iommuPgsize(this.pgsizeBitmap, iova + done, iova + done, size - done)
      if (pgsize === 0) return
      const n = this.unmapPages(iova + done, pgsize, count)
      if (n === 0) return
      done += n
    }
  }

  /**
   * __arm_lpae_map: walks down to the level whose entries are `size` bytes
   * (allocating missing tables) and writes up to the end of that table;
   * returns the number of entries written.
   */
  private mapChunk(iova: number, paddr: number, size: number, count: number, prot: bigint): number {
    let table = this.pgd
    for (let lvl = this.startLevel; lvl < MAX_LEVELS; lvl++) {
      const idx = this.index(iova, lvl)
      const ptep = table + idx * 8
      if (size === blockSize(lvl)) {
        const n = Math.min(count, PTES_PER_TABLE - (idx % PTES_PER_TABLE))
        this.initPtes(iova, paddr, prot, lvl, n, table, ptep)
        return n
      }
      if (lvl === MAX_LEVELS - 1) break
      let pte = this.read(ptep)
      if (pte === 0n) pte = this.installTable(this.allocTable(), ptep)
      else if (isLeaf(pte, lvl)) this.warnFail('EEXIST', `__arm_lpae_map: iova 0x${iova.toString(16)} is inside a mapped block`)
      const next = this.deref(pte)
      if (next === undefined) kerr('EINVAL', 'io-pgtable: corrupt table descriptor')
      table = next
    }
    return kerr('EINVAL', 'io-pgtable: ran out of levels')
  }

  /**
   * arm_lpae_init_pte: refuses to overwrite a leaf, frees a table being
   * replaced by a block (unmapping whatever it still maps), then writes the
   * `n` leaves.
   */
  private initPtes(iova: number, paddr: number, prot: bigint, lvl: number, n: number, table: number, ptep: number): void {
    const size = blockSize(lvl)
    for (let i = 0; i < n; i++) {
      const old = this.read(ptep + i * 8)
      if (isLeaf(old, lvl)) this.warnFail('EEXIST', `arm_lpae_init_pte: iova 0x${(iova + i * size).toString(16)} is already mapped`)
      if (pteType(old) === PTE_TYPE_TABLE) {
        if (this.unmapAt(iova + i * size, size, 1, lvl, table, null) !== size) kerr('EINVAL', 'io-pgtable: could not free the table under a new block')
      }
    }
    for (let i = 0; i < n; i++) this.write(ptep + i * 8, this.leafPte(paddr + i * size, prot, lvl))
  }

  // ---- unmap ----

  unmapPages(iova: number, pgsize: number, pgcount: number, gather?: IommuIotlbGather): number {
    // Linux's WARN_ON paths return 0 bytes unmapped.
    if (this.freed || !isIndex(iova) || !isIndex(pgcount)) return 0
    if (pgcount === 0 || !this.validPgsize(pgsize)) return this.warnZero('arm_lpae_unmap_pages: bad page size or count')
    if (iova >= 2 ** this.ias) return this.warnZero('arm_lpae_unmap_pages: iova outside ias')
    if (iova % pgsize !== 0) return 0
    // Nothing lies beyond the input range: stop there (Linux would read past the root table).
    const count = Math.min(pgcount, (2 ** this.ias - iova) / pgsize)
    let done = 0
    while (done < count) {
      // The IOMMU core always passes a gather; `undefined` here means a normal, non-queued one.
      const bytes = this.unmapAt(iova + done * pgsize, pgsize, count - done, this.startLevel, this.pgd, gather ?? { queued: false })
      if (bytes === 0) break
      done += bytes / pgsize
    }
    return done * pgsize
  }

  /**
   * __arm_lpae_unmap from `table` at `lvl`: returns the bytes unmapped, up to
   * the end of the table holding the `size`-byte entries; 0 at a hole.
   * `gather` null is Linux's NULL gather (a table freed under a new block).
   */
  private unmapAt(iova: number, size: number, count: number, lvl: number, table: number, gather: IommuIotlbGather | null): number {
    for (; lvl < MAX_LEVELS; lvl++) {
      const idx = this.index(iova, lvl)
      const ptep = table + idx * 8
      const pte = this.read(ptep)
      if (pte === 0n) return this.warnZero('__arm_lpae_unmap: nothing mapped')
      if (size === blockSize(lvl)) {
        const n = Math.min(count, PTES_PER_TABLE - (idx % PTES_PER_TABLE))
        let i = 0
        for (; i < n; i++) {
          const old = this.read(ptep + i * 8)
          if (old === 0n) {
            this.warn?.('WARN_ON: __arm_lpae_unmap: nothing mapped')
            break
          }
          this.write(ptep + i * 8, 0n)
          if (!isLeaf(old, lvl)) {
            // A whole table goes: also flush partial walks through it.
            this.tlb.tlbFlushWalk(iova + i * size, size, GRANULE)
            const sub = this.deref(old)
            if (sub !== undefined && lvl < MAX_LEVELS - 1) this.freeTables(lvl + 1, sub)
          } else if (!this.refuseSplit && gather?.queued !== true) {
            // Linux ≤ 6.12 adds each leaf as it goes (a NULL gather counts as not queued).
            this.tlb.tlbAddPage?.(iova + i * size, size)
          }
        }
        // Linux ≥ 6.13 adds every removed entry afterwards, tables included, for a real, non-queued gather.
        if (this.refuseSplit && gather !== null && !gather.queued) for (let j = 0; j < i; j++) this.tlb.tlbAddPage?.(iova + j * size, size)
        return i * size
      }
      if (isLeaf(pte, lvl)) {
        if (!this.refuseSplit) return this.splitBlockUnmap(iova, size, pte, lvl + 1, ptep, count, gather)
        this.warn?.('Unmap of a partial large IOPTE is not allowed')
        return 0
      }
      const next = this.deref(pte)
      if (next === undefined) return 0
      table = next
    }
    return 0
  }

  /**
   * arm_lpae_split_blk_unmap: replaces the block `blkPte` (at `lvl − 1`,
   * descriptor at `ptep`) by a table at `lvl` mapping the same range with the
   * same attributes, minus the entries being unmapped when `size` is this
   * level's entry size; otherwise recurses into the new table to split again.
   * Returns bytes unmapped (0 when no page is left for the table).
   */
  private splitBlockUnmap(iova: number, size: number, blkPte: bigint, lvl: number, ptep: number, count: number, gather: IommuIotlbGather | null): number {
    if (lvl >= MAX_LEVELS) return 0
    let table: number
    try {
      table = this.allocTable()
    } catch (e) {
      if (isKernelError(e, 'ENOMEM')) return 0
      throw e
    }
    const splitSize = blockSize(lvl)
    let unmapStart = -1
    let n = 0
    if (size === splitSize) {
      unmapStart = this.index(iova, lvl)
      n = Math.min(count, PTES_PER_TABLE - unmapStart)
    }
    const blkPaddr = pteAddr(blkPte)
    const prot = blkPte & PTE_ATTR_MASK
    for (let i = 0; i < PTES_PER_TABLE; i++) {
      if (i >= unmapStart && i < unmapStart + n) continue
      this.write(table + i * 8, this.leafPte(blkPaddr + i * splitSize, prot, lvl))
    }
    this.installTable(table, ptep)
    if (unmapStart >= 0) {
      // Linux adds these pages even for a queued gather.
      for (let i = 0; i < n; i++) this.tlb.tlbAddPage?.(iova + i * size, size)
      return n * size
    }
    return this.unmapAt(iova, size, count, lvl, table, gather)
  }

  /** __arm_lpae_free_pgtable: frees the table at `lvl` and every table below it. */
  private freeTables(lvl: number, table: number): void {
    if (!this.owned.has(table)) return
    if (lvl < MAX_LEVELS - 1) {
      const entries = lvl === this.startLevel ? 2 ** this.pgdBits : PTES_PER_TABLE
      for (let i = 0; i < entries; i++) {
        const pte = this.read(table + i * 8)
        if (pte === 0n || isLeaf(pte, lvl)) continue
        const sub = this.deref(pte)
        if (sub !== undefined) this.freeTables(lvl + 1, sub)
      }
    }
    this.freeTablePage(table)
  }

  // ---- lookup ----

  iovaToPhys(iova: number): number {
    if (this.freed || !isIndex(iova)) return 0
    let table = this.pgd
    for (let lvl = this.startLevel; lvl < MAX_LEVELS; lvl++) {
      const pte = this.read(table + this.index(iova, lvl) * 8)
      if (pte === 0n) return 0
      if (isLeaf(pte, lvl)) return Number((pte & PTE_ADDR_MASK) | BigInt(iova % blockSize(lvl)))
      const next = this.deref(pte)
      if (next === undefined) return 0
      table = next
    }
    return 0
  }

  // ---- free ----

  free(): void {
    if (this.freed) return
    this.freed = true
    this.tlb.tlbFlushAll()
    this.freeTables(this.startLevel, this.pgd)
    // Only if the tables were overwritten behind our back: never leak a page.
    for (const pa of [...this.owned]) this.freeTablePage(pa)
  }
}

