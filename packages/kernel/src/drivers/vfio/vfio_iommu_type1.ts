/**
 * The VFIO TYPE1 IOMMU backend (drivers/vfio/vfio_iommu_type1.c): the user's
 * DMA mappings of one container, pinned from the process and mapped into
 * every IOMMU domain of the container's groups. It answers the container
 * ioctls VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA and
 * VFIO_IOMMU_DIRTY_PAGES, byte for byte and errno for errno, in two
 * personalities (docs/decisions/0600-0609):
 *
 *   rfc-v5    the type1 the 2014 RFC v5 applied to (Alex Williamson's 3.15
 *             multi-domain type1) plus its EXEC patch: MAP flag bit 2 is
 *             EXEC, mappings are XN unless EXEC, GET_INFO is the 16-byte
 *             `flags = 0` answer, UNMAP flags must be 0, no mapping limit.
 *   upstream  current Linux (6.19+): VADDR at bit 2, UNMAP_ALL, GET_INFO
 *             with a capability chain, 65535 mappings, -EOVERFLOW.
 *
 * The interfaces it is written against are in iommu_types.ts.
 */
import {
  vfio_iommu_type1_dma_map,
  vfio_iommu_type1_dma_unmap,
  vfio_iommu_type1_info,
  vfio_bitmap,
  buildIommuInfoCapChain,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_MAP_FLAG_VADDR,
  VFIO_DMA_MAP_FLAG_EXEC,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_DMA_UNMAP_FLAG_VADDR,
  VFIO_IOMMU_INFO_CAPS,
  VFIO_IOMMU_INFO_PGSIZES,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_TYPE1_NESTING_IOMMU,
  VFIO_DMA_CC_IOMMU,
  VFIO_UNMAP_ALL,
  VFIO_UPDATE_VADDR,
  VFIO_IOMMU_PROT_EXEC,
  type UapiProfile,
  type IommuInfoCapInput,
} from '@vfio-sim/uapi'
import { isKernelError, kerr } from '../../errno.ts'
import type { LogLevel } from '../../kernel/printk.ts'
import {
  PAGE_MASK_U64,
  PAGE_SIZE,
  U64_MAX,
  type IommuDomainOps,
  type IommuProt,
  type VfioIommuGroup,
  type VfioPinnedPage,
  type VfioTask,
} from './iommu_types.ts'
import { VfioDmaList, type VfioDma } from './vfio_dma_list.ts'
import { copyIn, copyOut, copyOutReturningUncopied } from './uaccess.ts'
import { checkUserBitmap, markDirty } from './dirty_bitmap.ts'

/** `dma_entry_limit` module parameter default (U16_MAX). */
export const DMA_ENTRY_LIMIT_DEFAULT = 65535

/** `DIRTY_BITMAP_SIZE_MAX` = ALIGN(INT_MAX, 64) / 8 bytes, reported in the migration capability. */
const DIRTY_BITMAP_SIZE_MAX = 0x1000_0000n

/** `sizeof(struct vfio_iommu_type1_dirty_bitmap)` up to `flags` (minsz of VFIO_IOMMU_DIRTY_PAGES). */
const DIRTY_MINSZ = 8
const DIRTY_FLAG_START = 1 << 0
const DIRTY_FLAG_STOP = 1 << 1
const DIRTY_FLAG_GET_BITMAP = 1 << 2
/** sizeof(struct vfio_iommu_type1_dirty_bitmap_get): iova u64, size u64, struct vfio_bitmap. */
const DIRTY_GET_SIZE = 40

/** Where UNMAP_DMA with GET_DIRTY_BITMAP writes its bits. */
interface DirtyTarget {
  readonly task: VfioTask
  readonly data: bigint
  readonly pgsize: bigint
}

/** Options of a type1 backend (module parameters of vfio_iommu_type1). */
export interface Type1Options {
  /** `dma_entry_limit` (upstream only): how many mappings may exist. Default 65535. */
  readonly dmaEntryLimit?: number
  /**
   * `allow_unsafe_interrupts` (upstream only): accept groups whose MSIs are
   * not isolated. Default false, as in Linux. rfc-v5 type1 only checked
   * interrupt remapping for PCI, never for platform devices.
   */
  readonly allowUnsafeInterrupts?: boolean
  /** Where the driver's pr_warn lines go (wire to `kernel.printk`). */
  readonly printk?: (level: LogLevel, text: string) => void
}

/** A read-only view of one mapping, for tests, tracing and the workshop UI. */
export interface Type1MappingView {
  readonly iova: bigint
  readonly size: bigint
  readonly vaddr: bigint
  readonly read: boolean
  readonly write: boolean
  readonly noexec: boolean
  readonly lockedPages: number
  readonly vaddrInvalid: boolean
}

/** An inclusive IOVA range. */
export interface IovaRange {
  readonly start: bigint
  readonly end: bigint
}

/** 1 << __ffs(bitmap): the smallest page size of a bitmap (PAGE_SIZE if empty). */
export function lowestPageSize(bitmap: bigint): bigint {
  if (bitmap === 0n) return BigInt(PAGE_SIZE)
  return bitmap & -bitmap
}

/**
 * One container's type1 IOMMU (`struct vfio_iommu`). Created by the
 * container's VFIO_SET_IOMMU ({@link VfioIommuType1.open}), released when the
 * last group leaves.
 */
export class VfioIommuType1 {
  readonly profile: UapiProfile
  /** TYPE1v2 (exact-cover unmap) rather than TYPE1. */
  readonly v2: boolean
  private readonly dmaList = new VfioDmaList()
  private readonly groups: VfioIommuGroup[] = []
  /** Distinct domains, in attach order. */
  private readonly domains: IommuDomainOps[] = []
  private iovaList: IovaRange[] = []
  private dmaAvailCount: number
  private vaddrInvalidCount = 0
  private dirtyTracking = false
  private readonly allowUnsafeInterrupts: boolean
  private readonly printk: (level: LogLevel, text: string) => void

  private constructor(profile: UapiProfile, v2: boolean, opts: Type1Options) {
    this.profile = profile
    this.v2 = v2
    this.dmaAvailCount = opts.dmaEntryLimit ?? DMA_ENTRY_LIMIT_DEFAULT
    this.allowUnsafeInterrupts = opts.allowUnsafeInterrupts ?? false
    this.printk = opts.printk ?? (() => {})
  }

  /**
   * The driver's `check_extension`. `iommu` is null when the container has no
   * IOMMU yet (the driver is polled by VFIO_CHECK_EXTENSION and by SET_IOMMU).
   */
  static checkExtension(profile: UapiProfile, iommu: VfioIommuType1 | null, ext: bigint): number {
    switch (ext) {
      case BigInt(VFIO_TYPE1_IOMMU):
      case BigInt(VFIO_TYPE1v2_IOMMU):
        return 1
      case BigInt(VFIO_DMA_CC_IOMMU):
        // Every domain must be coherent (vacuously true with none): 3.15 looked at
        // IOMMU_CAP_CACHE_COHERENCY, current kernels at enforce_cache_coherency.
        if (iommu === null) return 0
        return iommu.domains.every(d => d.capable(profile === 'rfc-v5' ? 'cache_coherency' : 'enforce_cache_coherency')) ? 1 : 0
    }
    if (profile === 'rfc-v5') {
      // RFC v5: "IOMMU_EXEC is now available if at least one IOMMU in the container supports it".
      if (ext === BigInt(VFIO_IOMMU_PROT_EXEC)) return iommu !== null && iommu.domains.some(d => d.capable('dma_exec')) ? 1 : 0
      return 0
    }
    if (ext === BigInt(VFIO_UNMAP_ALL)) return 1
    // Needs an IOMMU (and no emulated-IOMMU groups, which this model has none of).
    if (ext === BigInt(VFIO_UPDATE_VADDR)) return iommu !== null ? 1 : 0
    return 0
  }

  /**
   * The driver's `open(arg)`: TYPE1 → v1, TYPE1v2 (or the old NESTING id in
   * rfc-v5... and upstream, which never gets there: check_extension refuses 6) → v2.
   * @throws KernelError EINVAL for any other type.
   */
  static open(profile: UapiProfile, type: bigint, opts: Type1Options = {}): VfioIommuType1 {
    if (type === BigInt(VFIO_TYPE1_IOMMU)) return new VfioIommuType1(profile, false, opts)
    if (type === BigInt(VFIO_TYPE1v2_IOMMU) || type === BigInt(VFIO_TYPE1_NESTING_IOMMU)) return new VfioIommuType1(profile, true, opts)
    return kerr('EINVAL', `vfio_iommu_type1: unknown IOMMU type ${type}`)
  }

  // ---- state, for the lead, tests and tracing ---------------------------------

  /** The mappings, in IOVA order. */
  mappings(): Type1MappingView[] {
    return this.dmaList.all().map(d => ({
      iova: d.iova, size: d.size, vaddr: d.vaddr, read: d.prot.read, write: d.prot.write,
      noexec: d.prot.noexec, lockedPages: d.lockedPages, vaddrInvalid: d.vaddrInvalid,
    }))
  }

  /** Mappings still allowed (upstream `dma_avail`; meaningless in rfc-v5, which has no limit). */
  get dmaAvail(): number {
    return this.dmaAvailCount
  }

  /** The page sizes the container reports (`iova_pgsizes`). */
  get pgsizeBitmap(): bigint {
    // vfio_update_pgsize_bitmap (vfio_pgsize_bitmap in 3.15): AND over the
    // domains, starting from ULONG_MAX; PAGE_MASK while there is no domain.
    if (this.domains.length === 0) return PAGE_MASK_U64
    let bitmap = U64_MAX
    for (const d of this.domains) bitmap &= d.pgsizeBitmap
    // Sub-page sizes are hidden and PAGE_SIZE offered instead (pinning is per page).
    if ((bitmap & ~PAGE_MASK_U64) !== 0n) bitmap = (bitmap & PAGE_MASK_U64) | BigInt(PAGE_SIZE)
    return bitmap
  }

  /** The usable IOVA ranges: domain apertures minus reserved regions (upstream; always empty in rfc-v5, which has no IOVA list). */
  iovaRanges(): IovaRange[] {
    return this.iovaList.slice()
  }

  /** Number of groups attached. */
  get groupCount(): number {
    return this.groups.length
  }

  // ---- groups -----------------------------------------------------------------

  /**
   * attach_group: adds a group (and its domain, if new) and replays every
   * existing mapping into a new domain. All or nothing.
   * @throws KernelError EBUSY (invalid vaddrs outstanding, upstream), EINVAL
   *   (already attached; aperture or reserved regions conflict with a
   *   mapping; no usable IOVA left), EPERM (MSIs not isolated, upstream),
   *   or what the domain's map returns during replay.
   */
  attachGroup(group: VfioIommuGroup): void {
    if (this.profile === 'upstream' && this.vaddrInvalidCount > 0) kerr('EBUSY')
    if (this.groups.some(g => g.id === group.id || g === group)) kerr('EINVAL')
    const domain = group.domain
    const newDomain = !this.domains.includes(domain)
    let newIovaList = this.iovaList
    if (this.profile === 'upstream') {
      if (newDomain) newIovaList = this.iovaListWith(domain)
      if (!this.allowUnsafeInterrupts && group.msiIsolated === false) {
        const msg = 'vfio_iommu_type1_attach_group: No interrupt remapping support.  Use the module param "allow_unsafe_interrupts" to enable VFIO IOMMU support on this platform'
        this.printk('warning', msg)
        kerr('EPERM', msg)
      }
    }
    if (newDomain) this.replay(domain)
    this.groups.push(group)
    if (newDomain) this.domains.push(domain)
    this.iovaList = newIovaList
  }

  /**
   * detach_group: removes a group. When its domain has no group left, the
   * domain goes (its translations are removed); when that was the last
   * domain, every mapping is unmapped and unpinned (`dma_avail` restored).
   * Returns true if no group is left (the container then releases the IOMMU).
   */
  detachGroup(group: VfioIommuGroup): boolean {
    const i = this.groups.indexOf(group)
    if (i < 0) return this.groups.length === 0
    this.groups.splice(i, 1)
    const domain = group.domain
    if (!this.groups.some(g => g.domain === domain)) {
      if (this.domains.length === 1) {
        this.unmapUnpinAll()
      } else {
        for (const dma of this.dmaList.all()) domain.unmap(dma.iova, Number(dma.size))
      }
      this.domains.splice(this.domains.indexOf(domain), 1)
      this.iovaList = this.rebuildIovaList()
    }
    return this.groups.length === 0
  }

  /** release: unmaps and unpins everything and forgets every group and domain. */
  release(): void {
    this.unmapUnpinAll()
    this.groups.length = 0
    this.domains.length = 0
    this.iovaList = []
  }

  // ---- ioctl ------------------------------------------------------------------

  /**
   * The driver's ioctl, for every container request other than
   * GET_API_VERSION / CHECK_EXTENSION / SET_IOMMU. `arg` is the raw ioctl
   * argument (a user address for these requests).
   * @throws KernelError with the errno Linux would return; ENOTTY for unknown requests.
   */
  ioctl(task: VfioTask, request: number, arg: bigint): number {
    switch (request >>> 0) {
      case VFIO_IOMMU_GET_INFO: return this.getInfo(task, arg)
      case VFIO_IOMMU_MAP_DMA: return this.mapDmaIoctl(task, arg)
      case VFIO_IOMMU_UNMAP_DMA: return this.unmapDmaIoctl(task, arg)
      case VFIO_IOMMU_DIRTY_PAGES: if (this.profile === 'upstream') return this.dirtyPages(task, arg)
    }
    return kerr('ENOTTY')
  }

  // ---- GET_INFO ---------------------------------------------------------------

  private getInfo(task: VfioTask, arg: bigint): number {
    const minsz = vfio_iommu_type1_info.offsets.cap_offset // offsetofend(iova_pgsizes) = 16
    const info = vfio_iommu_type1_info.decodePrefix(copyIn(task, arg, minsz), minsz)
    if (info.argsz < minsz) kerr('EINVAL')
    if (this.profile === 'rfc-v5') {
      // 3.15: flags = 0 (!), 16 bytes back, no capabilities.
      // `return copy_to_user(...)`: a fault returns the uncopied byte count, not -EFAULT.
      const out = vfio_iommu_type1_info.encode({ argsz: info.argsz, flags: 0, iova_pgsizes: this.pgsizeBitmap, cap_offset: 0 })
      return copyOutReturningUncopied(task, arg, out.subarray(0, minsz))
    }
    // Current kernels: info = {} then copy-in of 16, copy-back of min(argsz, 24).
    const outLen = Math.min(info.argsz, vfio_iommu_type1_info.size)
    let flags = VFIO_IOMMU_INFO_PGSIZES
    let argsz = info.argsz
    let capOffset = 0
    const pgsize = this.pgsizeBitmap
    const caps: IommuInfoCapInput[] = [
      { kind: 'migration', cap: { header: { id: VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version: 1 }, flags: 0, pgsize_bitmap: lowestPageSize(pgsize), max_dirty_bitmap_size: DIRTY_BITMAP_SIZE_MAX } },
      { kind: 'dma_avail', cap: { header: { id: VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1 }, avail: this.dmaAvailCount } },
    ]
    if (this.iovaList.length > 0) {
      caps.push({ kind: 'iova_range', cap: { header: { id: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1 }, iova_ranges: this.iovaList } })
    }
    const chain = buildIommuInfoCapChain(caps, { start: vfio_iommu_type1_info.size, align: 8 })
    flags |= VFIO_IOMMU_INFO_CAPS
    if (info.argsz < chain.end) {
      argsz = chain.end // too small: say how much is needed; not an error
    } else {
      copyOut(task, arg + BigInt(vfio_iommu_type1_info.size), chain.bytes)
      capOffset = vfio_iommu_type1_info.size
    }
    const out = vfio_iommu_type1_info.encode({ argsz, flags, iova_pgsizes: pgsize, cap_offset: capOffset })
    copyOut(task, arg, out.subarray(0, outLen))
    return 0
  }

  // ---- MAP_DMA ----------------------------------------------------------------

  private mapDmaIoctl(task: VfioTask, arg: bigint): number {
    const minsz = vfio_iommu_type1_dma_map.size
    const map = vfio_iommu_type1_dma_map.decode(copyIn(task, arg, minsz))
    const bit2 = this.profile === 'rfc-v5' ? VFIO_DMA_MAP_FLAG_EXEC : VFIO_DMA_MAP_FLAG_VADDR
    const mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | bit2
    if (map.argsz < minsz || (map.flags & ~mask) !== 0) kerr('EINVAL')
    this.doMap(task, map.flags, map.vaddr, map.iova, map.size)
    return 0 // MAP copies nothing back
  }

  /**
   * vfio_dma_do_map, after the copy-in and flag-mask checks. Public so that
   * kernel code (and tests) can map without going through user memory.
   */
  doMap(task: VfioTask, flags: number, vaddr: bigint, iova: bigint, size: bigint): void {
    const read = (flags & VFIO_DMA_MAP_FLAG_READ) !== 0
    const write = (flags & VFIO_DMA_MAP_FLAG_WRITE) !== 0
    const pgmask = lowestPageSize(this.pgsizeBitmap) - 1n
    if (this.profile === 'rfc-v5') {
      const exec = (flags & VFIO_DMA_MAP_FLAG_EXEC) !== 0
      // 3.15 order: prot, size, alignment together; then wrap; then overlap.
      // EXEC counts as a prot bit (IOMMU_EXEC), as in the VOSYS tree.
      if (!(read || write || exec) || size === 0n || ((size | iova | vaddr) & pgmask) !== 0n) kerr('EINVAL')
      if (iova + size - 1n > U64_MAX || vaddr + size - 1n > U64_MAX) kerr('EINVAL')
      if (this.dmaList.find(iova, size) !== undefined) kerr('EEXIST')
      // An LPAE stage-1 descriptor cannot say "execute only": EXEC alone maps
      // the pages readable and executable (docs/decisions/0606).
      this.pinMapInsert(task, { read: read || exec, write, noexec: !exec }, vaddr, iova, size)
      return
    }
    // Upstream (6.19+): size and overflow first, then prot, then alignment.
    const isVaddr = (flags & VFIO_DMA_MAP_FLAG_VADDR) !== 0
    if (size === 0n) kerr('EINVAL')
    if (iova + size - 1n > U64_MAX || vaddr + size - 1n > U64_MAX) kerr('EOVERFLOW')
    const prot = read || write
    if ((prot && isVaddr) || (!prot && !isVaddr)) kerr('EINVAL')
    if (((size | iova | vaddr) & pgmask) !== 0n) kerr('EINVAL')
    const found = this.dmaList.find(iova, size)
    if (isVaddr) {
      if (found === undefined) kerr('ENOENT')
      if (!found.vaddrInvalid || found.iova !== iova || found.size !== size) kerr('EINVAL')
      this.changeDmaOwner(task, found)
      found.vaddr = vaddr
      found.vaddrInvalid = false
      this.vaddrInvalidCount--
      return
    }
    if (found !== undefined) kerr('EEXIST')
    if (this.dmaAvailCount === 0) kerr('ENOSPC')
    if (!this.iovaValid(iova, iova + size - 1n)) kerr('EINVAL')
    this.pinMapInsert(task, { read, write, noexec: false }, vaddr, iova, size)
  }

  /**
   * vfio_change_dma_owner: a new process (live update) takes over the
   * mapping's locked-memory charge; ENOMEM if that exceeds its limit.
   */
  private changeDmaOwner(task: VfioTask, d: VfioDma): void {
    const mm = task.mm
    if (mm === d.acctMm) return
    const limit = Math.floor(task.rlimitMemlock / PAGE_SIZE)
    if (!task.capIpcLock && mm.lockedVm + d.lockedPages > limit) kerr('ENOMEM')
    mm.lockedVm += d.lockedPages
    d.acctMm.lockedVm -= d.lockedPages
    d.acctMm = mm
  }

  /** IOVA [first, last] inside one usable range (everything valid if the list is empty). */
  private iovaValid(first: bigint, last: bigint): boolean {
    if (this.iovaList.length === 0) return true
    return this.iovaList.some(r => r.start <= first && last <= r.end)
  }

  /**
   * vfio_pin_map_dma: pins page by page, maps each physically contiguous run
   * into every domain, charges RLIMIT_MEMLOCK. On any failure undoes
   * everything (unmap, unpin) and rethrows: a failed MAP changes nothing.
   */
  private pinMapInsert(task: VfioTask, prot: Omit<IommuProt, 'cache'>, vaddr: bigint, iova: bigint, size: bigint): void {
    const npages = Number(size / BigInt(PAGE_SIZE))
    const mm = task.mm
    const limit = Math.floor(task.rlimitMemlock / PAGE_SIZE)
    const phys: number[] = []
    const pinned: VfioPinnedPage[] = []
    let locked = 0
    let mappedPages = 0 // pages [0, mappedPages) are in every domain
    let runStart = 0 // first page of the run not yet mapped
    let runCounted = true
    const flushRun = (): void => {
      if (runStart < phys.length) {
        this.mapIntoDomains(this.domains, iova + BigInt(runStart * PAGE_SIZE), phys[runStart]!, (phys.length - runStart) * PAGE_SIZE, prot)
        mappedPages = phys.length
        runStart = phys.length
      }
    }
    try {
      if (vaddr + size > BigInt(Number.MAX_SAFE_INTEGER)) kerr('EFAULT')
      const base = Number(vaddr)
      for (let i = 0; i < npages; i++) {
        const va = base + i * PAGE_SIZE
        let pa: number
        let counted: boolean
        let page: VfioPinnedPage | undefined
        try {
          page = mm.pinUserPages(va, 1, prot.write)[0]
          if (page === undefined) return kerr('EFAULT') // nothing pinned: "0 pages pinned" is -EFAULT
          pa = page.phys
          counted = true
        } catch (e) {
          // A VM_PFNMAP page (device MMIO mmap'd by the user) is taken as is: peer-to-peer DMA.
          if (!isKernelError(e, 'EFAULT') || mm.followPfn === undefined) throw e
          pa = mm.followPfn(va, prot.write)
          counted = false
        }
        if (counted && !task.capIpcLock && mm.lockedVm + locked + 1 > limit) {
          mm.unpinUserPages([page!])
          // 6.x prints the limit in bytes from vfio_pin_pages_remote; 3.15 printed rlimit() from vfio_pin_pages.
          const msg = this.profile === 'upstream'
            ? `vfio_pin_pages_remote: RLIMIT_MEMLOCK (${limit * PAGE_SIZE}) exceeded`
            : `vfio_pin_pages: RLIMIT_MEMLOCK (${task.rlimitMemlock}) exceeded`
          this.printk('warning', msg)
          kerr('ENOMEM', msg)
        }
        // A run ends where physical contiguity (or pinned-ness) breaks: map what we have.
        if (phys.length > runStart && (pa !== phys[phys.length - 1]! + PAGE_SIZE || counted !== runCounted)) {
          try { flushRun() } catch (e) { if (page !== undefined) mm.unpinUserPages([page]); throw e }
        }
        if (phys.length === runStart) runCounted = counted
        phys.push(pa)
        if (page !== undefined) pinned.push(page)
        if (counted) locked++
      }
      flushRun()
    } catch (e) {
      for (const d of this.domains) if (mappedPages > 0) d.unmap(iova, mappedPages * PAGE_SIZE)
      if (pinned.length > 0) mm.unpinUserPages(pinned)
      throw e
    }
    mm.lockedVm += locked
    if (this.profile === 'upstream') this.dmaAvailCount--
    this.dmaList.insert({ iova, size, vaddr, prot, pinMm: mm, acctMm: mm, phys, pinned, lockedPages: locked, vaddrInvalid: false })
  }

  /** vfio_iommu_map: maps one contiguous run into each domain; on failure unmaps it from the ones done. */
  private mapIntoDomains(domains: readonly IommuDomainOps[], iova: bigint, paddr: number, len: number, prot: Omit<IommuProt, 'cache'>): void {
    const done: IommuDomainOps[] = []
    try {
      for (const d of domains) {
        d.map(iova, paddr, len, { ...prot, cache: this.cacheFor(d) })
        done.push(d)
      }
    } catch (e) {
      for (const d of done) d.unmap(iova, len)
      throw e
    }
  }

  /** IOMMU_CACHE for a domain: always upstream; rfc-v5 only if the IOMMU is coherent (domain->prot). */
  private cacheFor(d: IommuDomainOps): boolean {
    return this.profile === 'upstream' || d.capable('cache_coherency')
  }

  // ---- UNMAP_DMA --------------------------------------------------------------

  private unmapDmaIoctl(task: VfioTask, arg: bigint): number {
    const minsz = vfio_iommu_type1_dma_unmap.size
    const raw = copyIn(task, arg, minsz)
    const u = vfio_iommu_type1_dma_unmap.decode(raw)
    let unmapped: bigint
    if (this.profile === 'rfc-v5') {
      if (u.argsz < minsz || u.flags !== 0) kerr('EINVAL')
      unmapped = this.doUnmapRfcV5(u.iova, u.size)
    } else {
      const all = (u.flags & VFIO_DMA_UNMAP_FLAG_ALL) !== 0
      const vaddr = (u.flags & VFIO_DMA_UNMAP_FLAG_VADDR) !== 0
      const dirty = (u.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) !== 0
      const mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR
      if (u.argsz < minsz || (u.flags & ~mask) !== 0) kerr('EINVAL')
      if (dirty && (all || vaddr)) kerr('EINVAL')
      let bitmap: DirtyTarget | undefined
      if (dirty) {
        // A struct vfio_bitmap follows; it is read and checked before the range is.
        if (u.argsz < minsz + vfio_bitmap.size) kerr('EINVAL')
        const b = vfio_bitmap.decode(copyIn(task, arg + BigInt(minsz), vfio_bitmap.size))
        checkUserBitmap(b.data, b.size, u.size, b.pgsize)
        bitmap = { task, data: b.data, pgsize: b.pgsize }
      }
      unmapped = this.doUnmapUpstream(u.iova, u.size, all, vaddr, bitmap)
    }
    // Success: the struct goes back with size = bytes unmapped (24 bytes).
    new DataView(raw.buffer, raw.byteOffset, raw.byteLength).setBigUint64(vfio_iommu_type1_dma_unmap.offsets.size, unmapped, true)
    // [3.15] `return copy_to_user(...)`: a fault returns the uncopied byte count (positive), not -EFAULT.
    if (this.profile === 'rfc-v5') return copyOutReturningUncopied(task, arg, raw)
    copyOut(task, arg, raw)
    return 0
  }

  /** 3.15 vfio_dma_do_unmap: alignment, then (v2) bisection, then the walk. No wrap check: a wrapping range finds nothing. */
  private doUnmapRfcV5(iova: bigint, size: bigint): bigint {
    const pgmask = lowestPageSize(this.pgsizeBitmap) - 1n
    if ((iova & pgmask) !== 0n) kerr('EINVAL')
    if (size === 0n || (size & pgmask) !== 0n) kerr('EINVAL')
    const wraps = iova + size - 1n > U64_MAX
    const last = (iova + size - 1n) & U64_MAX
    if (this.v2) this.checkBisection(iova, last)
    if (wraps) return 0n
    return this.walkUnmap(iova, last, false)
  }

  private doUnmapUpstream(iova: bigint, size: bigint, all: boolean, vaddr: boolean, bitmap: DirtyTarget | undefined): bigint {
    const pgmask = lowestPageSize(this.pgsizeBitmap) - 1n
    if ((iova & pgmask) !== 0n) kerr('EINVAL')
    let last: bigint
    if (all) {
      if (iova !== 0n || size !== 0n) kerr('EINVAL')
      last = U64_MAX
    } else {
      if (size === 0n || (size & pgmask) !== 0n) kerr('EINVAL')
      if (iova + size - 1n > U64_MAX) kerr('EOVERFLOW')
      last = iova + size - 1n
    }
    // With a bitmap: tracking must be on and the bitmap in the smallest page size.
    if (bitmap !== undefined && (!this.dirtyTracking || bitmap.pgsize !== pgmask + 1n)) kerr('EINVAL')
    if (this.v2 && !all) this.checkBisection(iova, last)
    if (vaddr) return this.walkInvalidateVaddr(iova, last)
    return this.walkUnmap(iova, last, all, bitmap)
  }

  /** v2: no mapping may straddle the first or the last byte of the request. */
  private checkBisection(iova: bigint, last: bigint): void {
    const first = this.dmaList.find(iova, 1n)
    if (first !== undefined && first.iova !== iova) kerr('EINVAL')
    const end = this.dmaList.find(last, 0n)
    if (end !== undefined && end.iova + end.size !== last + 1n) kerr('EINVAL')
  }

  /** Removes mappings from the first one ending above `iova`, in IOVA order (v1 stops at one that starts below `iova`). */
  private walkUnmap(iova: bigint, last: bigint, all: boolean, bitmap?: DirtyTarget): bigint {
    let unmapped = 0n
    const i = this.dmaList.firstEndAfter(iova)
    for (let d = this.dmaList.at(i); d !== undefined && d.iova <= last; d = this.dmaList.at(i)) {
      if (!this.v2 && !all && iova > d.iova) break
      // The mapping's dirty bits go out before it goes (EFAULT stops the walk; earlier removals stay).
      if (bitmap !== undefined) markDirty(bitmap.task, bitmap.data, iova, bitmap.pgsize, d.iova, d.size)
      unmapped += d.size
      this.removeDma(d)
    }
    return unmapped
  }

  /** UNMAP with FLAG_VADDR: marks the vaddrs invalid (DMA goes on); all or nothing. */
  private walkInvalidateVaddr(iova: bigint, last: bigint): bigint {
    let unmapped = 0n
    const marked: VfioDma[] = []
    for (let i = this.dmaList.firstEndAfter(iova), d = this.dmaList.at(i); d !== undefined && d.iova <= last; d = this.dmaList.at(++i)) {
      if (!this.v2 && iova > d.iova) break
      if (d.vaddrInvalid) {
        for (const m of marked) m.vaddrInvalid = false
        this.vaddrInvalidCount -= marked.length
        return kerr('EINVAL')
      }
      d.vaddrInvalid = true
      this.vaddrInvalidCount++
      marked.push(d)
      unmapped += d.size
    }
    return unmapped
  }

  /** vfio_remove_dma: unmap from every domain, unpin, un-account, free the slot. */
  private removeDma(d: VfioDma): void {
    for (const dom of this.domains) dom.unmap(d.iova, Number(d.size))
    if (d.pinned.length > 0) d.pinMm.unpinUserPages(d.pinned)
    d.acctMm.lockedVm -= d.lockedPages
    if (d.vaddrInvalid) this.vaddrInvalidCount--
    this.dmaList.remove(d)
    if (this.profile === 'upstream') this.dmaAvailCount++
  }

  private unmapUnpinAll(): void {
    for (const d of this.dmaList.all()) this.removeDma(d)
  }

  // ---- DIRTY_PAGES (upstream) -------------------------------------------------

  private dirtyPages(task: VfioTask, arg: bigint): number {
    if (!this.v2) kerr('EACCES')
    const raw = copyIn(task, arg, DIRTY_MINSZ)
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
    const argsz = view.getUint32(0, true)
    const flags = view.getUint32(4, true)
    const mask = DIRTY_FLAG_START | DIRTY_FLAG_STOP | DIRTY_FLAG_GET_BITMAP
    if (argsz < DIRTY_MINSZ || (flags & ~mask) !== 0) kerr('EINVAL')
    if (flags === 0 || (flags & (flags - 1)) !== 0) kerr('EINVAL') // exactly one operation
    if (flags === DIRTY_FLAG_START) { this.dirtyTracking = true; return 0 }
    if (flags === DIRTY_FLAG_STOP) { this.dirtyTracking = false; return 0 }
    // GET_BITMAP: struct vfio_iommu_type1_dirty_bitmap_get {iova, size, vfio_bitmap} follows.
    if (argsz - DIRTY_MINSZ < DIRTY_GET_SIZE) kerr('EINVAL')
    const r = copyIn(task, arg + BigInt(DIRTY_MINSZ), DIRTY_GET_SIZE)
    const rv = new DataView(r.buffer, r.byteOffset, r.byteLength)
    const iova = rv.getBigUint64(0, true)
    const size = rv.getBigUint64(8, true)
    const b = vfio_bitmap.decode(r, 16)
    // The overflow series: size 0 → EINVAL, then check_add_overflow(iova,
    // size − 1) → EOVERFLOW, both before the bitmap checks (a range ending
    // at 2^64 − 1 is fine; the old `iova + size < iova` refused it).
    if (size === 0n) kerr('EINVAL')
    if (iova + size - 1n > U64_MAX) kerr('EOVERFLOW')
    checkUserBitmap(b.data, b.size, size, b.pgsize)
    const pgsize = lowestPageSize(this.pgsizeBitmap)
    if (b.pgsize !== pgsize) kerr('EINVAL')
    if ((iova & (pgsize - 1n)) !== 0n) kerr('EINVAL')
    if (size === 0n || (size & (pgsize - 1n)) !== 0n) kerr('EINVAL')
    if (!this.dirtyTracking) kerr('EINVAL')
    // vfio_iova_dirty_bitmap: the range may not bisect a mapping; then every mapping in it is all dirty.
    const last = iova + size - 1n
    this.checkBisection(iova, last)
    for (let i = this.dmaList.firstEndAfter(iova), d = this.dmaList.at(i); d !== undefined && d.iova <= last; d = this.dmaList.at(++i)) {
      if (d.iova < iova) continue
      markDirty(task, b.data, iova, b.pgsize, d.iova, d.size)
    }
    return 0
  }

  // ---- IOVA list (upstream) ---------------------------------------------------

  /** The IOVA list with `domain` added, checked against the current mappings. @throws EINVAL */
  private iovaListWith(domain: IommuDomainOps): IovaRange[] {
    const ap = domain.aperture ?? { start: 0n, end: U64_MAX }
    // A new aperture may not cut off an existing mapping.
    for (const d of this.dmaList.all()) {
      if (d.iova < ap.start || d.iova + d.size - 1n > ap.end) kerr('EINVAL')
    }
    // Nor may a reserved region overlap one.
    for (const r of domain.reservedRegions ?? []) {
      if (r.type === 'direct-relaxable') continue
      const rl = r.start + r.length - 1n
      if (this.dmaList.all().some(d => d.iova <= rl && r.start <= d.iova + d.size - 1n)) kerr('EINVAL')
    }
    const list = this.buildIovaList([...this.domains, domain])
    if (list.length === 0) kerr('EINVAL')
    return list
  }

  private rebuildIovaList(): IovaRange[] {
    return this.domains.length === 0 ? [] : this.buildIovaList(this.domains)
  }

  /** Intersection of the apertures minus every reserved region (except direct-relaxable), sorted. */
  private buildIovaList(domains: readonly IommuDomainOps[]): IovaRange[] {
    let start = 0n
    let end = U64_MAX
    for (const d of domains) {
      const ap = d.aperture ?? { start: 0n, end: U64_MAX }
      if (ap.start > start) start = ap.start
      if (ap.end < end) end = ap.end
    }
    let list: IovaRange[] = start <= end ? [{ start, end }] : []
    for (const d of domains) {
      for (const r of d.reservedRegions ?? []) {
        if (r.type === 'direct-relaxable' || r.length === 0n) continue
        const rs = r.start
        const re = r.start + r.length - 1n
        const next: IovaRange[] = []
        for (const n of list) {
          if (re < n.start || rs > n.end) { next.push(n); continue }
          if (rs > n.start) next.push({ start: n.start, end: rs - 1n })
          if (re < n.end) next.push({ start: re + 1n, end: n.end })
        }
        list = next
      }
    }
    return list
  }

  // ---- replay -----------------------------------------------------------------

  /** vfio_iommu_replay: maps every existing mapping into a new domain; unwinds on failure. */
  private replay(domain: IommuDomainOps): void {
    const done: { iova: bigint; len: number }[] = []
    try {
      for (const d of this.dmaList.all()) {
        let run = 0
        for (let i = 1; i <= d.phys.length; i++) {
          if (i === d.phys.length || d.phys[i] !== d.phys[i - 1]! + PAGE_SIZE) {
            const iova = d.iova + BigInt(run * PAGE_SIZE)
            const len = (i - run) * PAGE_SIZE
            domain.map(iova, d.phys[run]!, len, { ...d.prot, cache: this.cacheFor(domain) })
            done.push({ iova, len })
            run = i
          }
        }
      }
    } catch (e) {
      for (const m of done) domain.unmap(m.iova, m.len)
      throw e
    }
  }
}
