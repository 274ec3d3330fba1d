/**
 * Models mm/page_alloc.c (the buddy allocator, reduced to single pages) and
 * the `struct page` refcount of include/linux/mm.h: every page of the board's
 * DRAM is free or owned, and every owned page records who owns it, so a test
 * can prove that all pages came back (no leak) after the processes exited.
 *
 * Allocation is deterministic: freed pages are reused last-freed-first, then
 * fresh pages are taken in address order. A page is zeroed when allocated
 * (user pages are always zeroed in Linux; kernel callers here rely on it too).
 */
import { PAGE_SIZE, type PhysMemory } from '@vfio-sim/sim'
import { kerr } from '../errno.ts'

interface RamRange {
  readonly base: number
  readonly size: number
}

/** Per-page state of an allocated page. */
interface PageInfo {
  /** Who allocated it ("pid 3 anon", "io-pgtable", …). */
  owner: string
  /** get_page/put_page count; the page is freed when it drops to 0. */
  refcount: number
  /** pin_user_pages count (FOLL_PIN), part of refcount. */
  pins: number
}

/** The physical page allocator. */
export class PageAllocator {
  private readonly memory: PhysMemory
  private readonly ranges: RamRange[] = []
  /** Index into `ranges` and byte offset of the next never-used page. */
  private rangeIdx = 0
  private rangeOff = 0
  private readonly freeList: number[] = []
  private readonly used = new Map<number, PageInfo>()
  /** Supplies RAM ranges on first use if none were added (the kernel reads the board's memory map). */
  discover: (() => readonly RamRange[]) | undefined = undefined

  constructor(memory: PhysMemory) {
    this.memory = memory
  }

  /** Adds a DRAM range (page aligned) to the pool (memblock_add + free). */
  addRange(base: number, size: number): void {
    if (base % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || size <= 0) throw new RangeError('page allocator: unaligned RAM range')
    this.ranges.push({ base, size })
  }

  private ensureRanges(): void {
    if (this.ranges.length > 0 || this.discover === undefined) return
    for (const r of this.discover()) {
      const base = Math.ceil(r.base / PAGE_SIZE) * PAGE_SIZE
      const end = Math.floor((r.base + r.size) / PAGE_SIZE) * PAGE_SIZE
      if (end > base) this.addRange(base, end - base)
    }
  }

  /** Total pages managed. */
  get totalPages(): number {
    this.ensureRanges()
    return this.ranges.reduce((s, r) => s + r.size / PAGE_SIZE, 0)
  }

  /** Pages currently allocated. */
  get usedPages(): number {
    return this.used.size
  }

  /** alloc_page: a zeroed page owned by `owner`, refcount 1; ENOMEM when DRAM is exhausted. */
  alloc(owner: string): number {
    this.ensureRanges()
    let phys = this.freeList.pop()
    if (phys === undefined) {
      for (;;) {
        const r = this.ranges[this.rangeIdx]
        if (r === undefined) kerr('ENOMEM', 'out of physical pages')
        if (this.rangeOff < r.size) {
          phys = r.base + this.rangeOff
          this.rangeOff += PAGE_SIZE
          break
        }
        this.rangeIdx++
        this.rangeOff = 0
      }
    }
    this.used.set(phys, { owner, refcount: 1, pins: 0 })
    this.memory.fill(phys, PAGE_SIZE, 0)
    return phys
  }

  private info(phys: number): PageInfo {
    const i = this.used.get(phys)
    if (i === undefined) throw new Error(`page allocator: page 0x${phys.toString(16)} is not allocated`)
    return i
  }

  /** get_page. */
  get(phys: number): void {
    this.info(phys).refcount++
  }

  /** put_page (also the free of a page allocated with refcount 1): frees it at refcount 0. */
  put(phys: number): void {
    const i = this.info(phys)
    if (--i.refcount > 0) return
    this.used.delete(phys)
    this.freeList.push(phys)
  }

  /** Takes a pin (counts as a reference). */
  pin(phys: number): void {
    const i = this.info(phys)
    i.pins++
    i.refcount++
  }

  /** Drops a pin. */
  unpin(phys: number): void {
    const i = this.info(phys)
    if (i.pins === 0) throw new Error(`page allocator: unpin of unpinned page 0x${phys.toString(16)}`)
    i.pins--
    this.put(phys)
  }

  /** True if `phys` (page aligned) is allocated. */
  isAllocated(phys: number): boolean {
    return this.used.has(phys)
  }

  /** Owner, refcount and pins of an allocated page, or undefined if free. */
  pageInfo(phys: number): Readonly<PageInfo> | undefined {
    const i = this.used.get(phys)
    return i === undefined ? undefined : { ...i }
  }

  /** Allocated page count by owner (for leak reports). */
  owners(): Map<string, number> {
    const m = new Map<string, number>()
    for (const i of this.used.values()) m.set(i.owner, (m.get(i.owner) ?? 0) + 1)
    return m
  }

  /** Allocated physical pages, sorted (compare two snapshots to find leaks). */
  snapshot(): number[] {
    return [...this.used.keys()].sort((a, b) => a - b)
  }
}
