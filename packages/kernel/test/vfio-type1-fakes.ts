// Fakes for the VFIO container / type1 tests: a user address space with
// pinning and locked_vm, and an IOMMU domain that records its translations
// page by page. Written from the interface contracts in
// src/drivers/vfio/iommu_types.ts, not from the type1 code.

import {
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_TYPE1_IOMMU,
  vfio_iommu_type1_dma_map,
  vfio_iommu_type1_dma_unmap,
  type UapiProfile,
} from '@vfio-sim/uapi'
import { KernelError, kerr } from '../src/errno.ts'
import type { IommuCap, IommuDomainOps, IommuProt, IommuResvRegion, VfioIommuGroup, VfioPinnedPage, VfioTask, VfioUserMm } from '../src/drivers/vfio/iommu_types.ts'
import { VfioContainer } from '../src/drivers/vfio/container.ts'

export const PAGE = 4096

interface FakePage {
  phys: number
  writable: boolean
  pfnmap: boolean
  data: Uint8Array
}

/** A process address space made of 4 KiB pages. */
export class FakeMm implements VfioUserMm {
  lockedVm = 0
  readonly pages = new Map<number, FakePage>()
  /** phys → pin count. */
  readonly pins = new Map<number, number>()
  private nextPhys = 0x8000_0000

  /** Maps `npages` pages at `vaddr`. `scatter` leaves a hole between physical pages (no contiguity). */
  mmap(vaddr: number, npages: number, opts: { writable?: boolean; scatter?: boolean; pfnmap?: boolean } = {}): void {
    for (let i = 0; i < npages; i++) {
      this.pages.set(vaddr + i * PAGE, { phys: this.nextPhys, writable: opts.writable ?? true, pfnmap: opts.pfnmap ?? false, data: new Uint8Array(PAGE) })
      this.nextPhys += opts.scatter === true ? 2 * PAGE : PAGE
    }
  }

  private page(addr: number): FakePage | undefined {
    return this.pages.get(addr - (addr % PAGE))
  }

  copyFromUser(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len)
    for (let i = 0; i < len; i++) {
      const p = this.page(addr + i)
      if (p === undefined) kerr('EFAULT')
      out[i] = p.data[(addr + i) % PAGE]!
    }
    return out
  }

  copyToUser(addr: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const p = this.page(addr + i)
      if (p === undefined || !p.writable) kerr('EFAULT')
    }
    for (let i = 0; i < data.length; i++) this.page(addr + i)!.data[(addr + i) % PAGE] = data[i]!
  }

  pinUserPages(addr: number, npages: number, write: boolean): VfioPinnedPage[] {
    const out: VfioPinnedPage[] = []
    for (let i = 0; i < npages; i++) {
      const p = this.pages.get(addr + i * PAGE)
      if (p === undefined || p.pfnmap || (write && !p.writable)) kerr('EFAULT')
      out.push({ vaddr: addr + i * PAGE, phys: p.phys })
    }
    for (const p of out) this.pins.set(p.phys, (this.pins.get(p.phys) ?? 0) + 1)
    return out
  }

  unpinUserPages(pages: readonly VfioPinnedPage[]): void {
    for (const p of pages) {
      const n = this.pins.get(p.phys) ?? 0
      if (n <= 0) throw new Error(`unpin of a page that is not pinned: ${p.phys.toString(16)}`)
      if (n === 1) this.pins.delete(p.phys)
      else this.pins.set(p.phys, n - 1)
    }
  }

  followPfn(addr: number, write: boolean): number {
    const p = this.page(addr)
    if (p === undefined || !p.pfnmap || (write && !p.writable)) kerr('EFAULT')
    return p.phys
  }

  /** Total pins held. */
  get pinCount(): number {
    let n = 0
    for (const v of this.pins.values()) n += v
    return n
  }
}

/** An IOMMU domain keeping one entry per 4 KiB page. */
export class FakeDomain implements IommuDomainOps {
  pgsizeBitmap: bigint
  aperture?: { start: bigint; end: bigint }
  reservedRegions?: IommuResvRegion[]
  readonly caps: Set<IommuCap>
  readonly entries = new Map<bigint, { phys: number; prot: IommuProt }>()
  /** Fail map() with this errno when the range touches `failIova`. */
  failIova: bigint | undefined
  failErrno = 'ERANGE'
  mapCalls = 0

  constructor(opts: { pgsizeBitmap?: bigint; caps?: IommuCap[]; aperture?: { start: bigint; end: bigint }; resv?: IommuResvRegion[] } = {}) {
    this.pgsizeBitmap = opts.pgsizeBitmap ?? 0x40201000n
    this.caps = new Set(opts.caps ?? ['cache_coherency', 'enforce_cache_coherency', 'dma_exec', 'noexec'])
    if (opts.aperture !== undefined) this.aperture = opts.aperture
    if (opts.resv !== undefined) this.reservedRegions = opts.resv
  }

  capable(cap: IommuCap): boolean {
    return this.caps.has(cap)
  }

  map(iova: bigint, paddr: number, size: number, prot: IommuProt): void {
    this.mapCalls++
    if (size <= 0 || size % PAGE !== 0) throw new Error(`bad map size ${size}`)
    const n = size / PAGE
    if (this.failIova !== undefined && this.failIova >= iova && this.failIova < iova + BigInt(size)) kerr(this.failErrno)
    for (let i = 0; i < n; i++) if (this.entries.has(iova + BigInt(i * PAGE))) kerr('EBUSY')
    for (let i = 0; i < n; i++) this.entries.set(iova + BigInt(i * PAGE), { phys: paddr + i * PAGE, prot })
  }

  unmap(iova: bigint, size: number): number {
    let n = 0
    for (let i = 0; i < size / PAGE; i++) if (this.entries.delete(iova + BigInt(i * PAGE))) n++
    return n * PAGE
  }

  /** Snapshot of the translations, for bit-identical comparisons. */
  snapshot(): string {
    return [...this.entries.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${k}:${v.phys}:${JSON.stringify(v.prot)}`).join(',')
  }
}

/** Where the test's ioctl structs live in user memory. */
export const ARG = 0x1_0000
/** A read-only page (copy_to_user there faults). */
export const RO_ARG = 0x2_0000
/** Start of the DMA buffer area. */
export const BUF = 0x4000_0000

export interface Harness {
  profile: UapiProfile
  mm: FakeMm
  task: VfioTask
  dom: FakeDomain
  group: VfioIommuGroup
  c: VfioContainer
}

/** A container with one group in it and (unless `iommu: false`) SET_IOMMU done. */
export function setup(profile: UapiProfile, opts: { v2?: boolean; iommu?: boolean; bufPages?: number; memlock?: number; capIpcLock?: boolean; dom?: FakeDomain; dmaEntryLimit?: number } = {}): Harness {
  const mm = new FakeMm()
  mm.mmap(ARG, 4)
  mm.mmap(RO_ARG, 1, { writable: false })
  mm.mmap(BUF, opts.bufPages ?? 64)
  const task: VfioTask = { mm, capIpcLock: opts.capIpcLock ?? false, rlimitMemlock: opts.memlock ?? 8 * 1024 * 1024 }
  const dom = opts.dom ?? new FakeDomain()
  const group: VfioIommuGroup = { id: 7, domain: dom }
  const c = new VfioContainer(opts.dmaEntryLimit === undefined ? { profile } : { profile, dmaEntryLimit: opts.dmaEntryLimit })
  c.attachGroup(group)
  if (opts.iommu !== false) c.ioctl(task, VFIO_SET_IOMMU, opts.v2 === false ? VFIO_TYPE1_IOMMU : VFIO_TYPE1v2_IOMMU)
  return { profile, mm, task, dom, group, c }
}

/** Runs `fn`; returns its value, or the errno name it threw. */
export function errnoOf(fn: () => number): number | string {
  try {
    return fn()
  } catch (e) {
    if (e instanceof KernelError) return e.code
    throw e
  }
}

/** VFIO_IOMMU_MAP_DMA through user memory; returns 0 or the errno name. */
export function map(h: Harness, flags: number, vaddr: bigint | number, iova: bigint | number, size: bigint | number, argsz = 32): number | string {
  h.mm.copyToUser(ARG, vfio_iommu_type1_dma_map.encode({ argsz, flags, vaddr: BigInt(vaddr), iova: BigInt(iova), size: BigInt(size) }))
  return errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_MAP_DMA, ARG))
}

/** VFIO_IOMMU_UNMAP_DMA through user memory; returns the result and the `size` read back. */
export function unmap(h: Harness, flags: number, iova: bigint | number, size: bigint | number, argsz = 24): { ret: number | string; size: bigint } {
  h.mm.copyToUser(ARG, vfio_iommu_type1_dma_unmap.encode({ argsz, flags, iova: BigInt(iova), size: BigInt(size) }))
  const ret = errnoOf(() => h.c.ioctl(h.task, VFIO_IOMMU_UNMAP_DMA, ARG))
  return { ret, size: vfio_iommu_type1_dma_unmap.decode(h.mm.copyFromUser(ARG, 24)).size }
}

/** Everything a failed MAP must leave unchanged. */
export function stateOf(h: Harness): string {
  const t = h.c.type1
  return JSON.stringify({
    maps: t === null ? null : t.mappings().map(m => `${m.iova}+${m.size}`),
    avail: t?.dmaAvail,
    locked: h.mm.lockedVm,
    pins: h.mm.pinCount,
    dom: h.dom.snapshot(),
  })
}
