/**
 * Sparse physical memory: 4 KiB pages allocated on first write, so a board
 * with gigabytes of DRAM costs nothing until it is used. Addresses are plain
 * numbers up to 2^48 (exact in a double). Reads of a page never written
 * return zeros without allocating it.
 *
 * All multi-byte accesses are little-endian, as on the ARM systems modelled.
 */

/** log2 of the page size. */
export const PAGE_SHIFT = 12
/** Size of one page of backing store. */
export const PAGE_SIZE = 1 << PAGE_SHIFT
const PAGE_MASK = PAGE_SIZE - 1
/** Highest address + 1 that physical memory accepts. */
export const PHYS_ADDR_LIMIT = 2 ** 48

/** One page of backing store, with a DataView for multi-byte accesses. */
interface Page {
  readonly bytes: Uint8Array
  readonly view: DataView
}

export class PhysMemory {
  /** Page number → backing store. */
  private readonly pages = new Map<number, Page>()
  /**
   * Two-entry cache of the last pages looked up: a DMA copy alternates
   * between a source and a destination page.
   */
  private pageNoA = -1
  private pageA: Page | undefined = undefined
  private pageNoB = -1
  private pageB: Page | undefined = undefined

  /** Number of pages allocated so far (for tests and memory accounting). */
  get allocatedPages(): number {
    return this.pages.size
  }

  /** The page numbered `pageNo`, allocating it when `alloc` is set. */
  private page(pageNo: number, alloc: boolean): Page | undefined {
    if (pageNo === this.pageNoA) return this.pageA
    if (pageNo === this.pageNoB) {
      // Swap so that A is the most recent.
      const p = this.pageB
      this.pageNoB = this.pageNoA
      this.pageB = this.pageA
      this.pageNoA = pageNo
      this.pageA = p
      return p
    }
    let p = this.pages.get(pageNo)
    if (p === undefined) {
      if (!alloc) return undefined
      const bytes = new Uint8Array(PAGE_SIZE)
      p = { bytes, view: new DataView(bytes.buffer) }
      this.pages.set(pageNo, p)
    }
    this.pageNoB = this.pageNoA
    this.pageB = this.pageA
    this.pageNoA = pageNo
    this.pageA = p
    return p
  }

  private static check(addr: number, len: number): void {
    if (!(addr >= 0 && len >= 0 && addr + len <= PHYS_ADDR_LIMIT && Number.isInteger(addr) && Number.isInteger(len))) {
      throw new RangeError(`physical access out of range: addr=0x${addr.toString(16)} len=${len}`)
    }
  }

  /** Copies `len` bytes at `addr` into `dst[dstOff…]`; spans may cross pages. */
  read(addr: number, dst: Uint8Array, dstOff = 0, len = dst.length - dstOff): void {
    PhysMemory.check(addr, len)
    while (len > 0) {
      const inPage = addr & PAGE_MASK
      const n = Math.min(len, PAGE_SIZE - inPage)
      const p = this.page(Math.floor(addr / PAGE_SIZE), false)
      if (p === undefined) dst.fill(0, dstOff, dstOff + n)
      else dst.set(p.bytes.subarray(inPage, inPage + n), dstOff)
      addr += n
      dstOff += n
      len -= n
    }
  }

  /** Copies `len` bytes from `src[srcOff…]` to `addr`; spans may cross pages. */
  write(addr: number, src: Uint8Array, srcOff = 0, len = src.length - srcOff): void {
    PhysMemory.check(addr, len)
    while (len > 0) {
      const inPage = addr & PAGE_MASK
      const n = Math.min(len, PAGE_SIZE - inPage)
      const p = this.page(Math.floor(addr / PAGE_SIZE), true)!
      p.bytes.set(src.subarray(srcOff, srcOff + n), inPage)
      addr += n
      srcOff += n
      len -= n
    }
  }

  /** Fills `len` bytes at `addr` with `value`. Filling with zero frees nothing but allocates nothing new. */
  fill(addr: number, len: number, value = 0): void {
    PhysMemory.check(addr, len)
    while (len > 0) {
      const inPage = addr & PAGE_MASK
      const n = Math.min(len, PAGE_SIZE - inPage)
      const p = this.page(Math.floor(addr / PAGE_SIZE), value !== 0)
      if (p !== undefined) p.bytes.fill(value, inPage, inPage + n)
      addr += n
      len -= n
    }
  }

  /**
   * Copies `len` bytes from `src` to `dst` inside physical memory, page span
   * by page span (overlap-safe as memmove).
   */
  copy(dst: number, src: number, len: number): void {
    PhysMemory.check(dst, len)
    PhysMemory.check(src, len)
    if (len === 0) return
    const tmp = new Uint8Array(len)
    this.read(src, tmp, 0, len)
    this.write(dst, tmp, 0, len)
  }

  /** Returns a copy of `len` bytes at `addr`. */
  slice(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len)
    this.read(addr, out, 0, len)
    return out
  }

  // --- single accesses; a fast path when the access stays inside one page ---

  read8(addr: number): number {
    PhysMemory.check(addr, 1)
    const p = this.page(Math.floor(addr / PAGE_SIZE), false)
    return p === undefined ? 0 : p.bytes[addr & PAGE_MASK]!
  }

  write8(addr: number, value: number): void {
    PhysMemory.check(addr, 1)
    this.page(Math.floor(addr / PAGE_SIZE), true)!.bytes[addr & PAGE_MASK] = value
  }

  read16(addr: number): number {
    PhysMemory.check(addr, 2)
    const off = addr & PAGE_MASK
    if (off <= PAGE_SIZE - 2) {
      const v = this.page(Math.floor(addr / PAGE_SIZE), false)?.view
      return v === undefined ? 0 : v.getUint16(off, true)
    }
    return this.read8(addr) | (this.read8(addr + 1) << 8)
  }

  write16(addr: number, value: number): void {
    PhysMemory.check(addr, 2)
    const off = addr & PAGE_MASK
    if (off <= PAGE_SIZE - 2) {
      this.page(Math.floor(addr / PAGE_SIZE), true)!.view.setUint16(off, value, true)
      return
    }
    this.write8(addr, value & 0xff)
    this.write8(addr + 1, (value >>> 8) & 0xff)
  }

  read32(addr: number): number {
    PhysMemory.check(addr, 4)
    const off = addr & PAGE_MASK
    if (off <= PAGE_SIZE - 4) {
      const v = this.page(Math.floor(addr / PAGE_SIZE), false)?.view
      return v === undefined ? 0 : v.getUint32(off, true)
    }
    return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0
  }

  write32(addr: number, value: number): void {
    PhysMemory.check(addr, 4)
    const off = addr & PAGE_MASK
    if (off <= PAGE_SIZE - 4) {
      this.page(Math.floor(addr / PAGE_SIZE), true)!.view.setUint32(off, value >>> 0, true)
      return
    }
    this.write16(addr, value & 0xffff)
    this.write16(addr + 2, (value >>> 16) & 0xffff)
  }

  /** 64-bit read as a bigint (exact). */
  read64(addr: number): bigint {
    return BigInt(this.read32(addr)) | (BigInt(this.read32(addr + 4)) << 32n)
  }

  /** 64-bit write of a bigint (taken modulo 2^64). */
  write64(addr: number, value: bigint): void {
    const v = BigInt.asUintN(64, value)
    this.write32(addr, Number(v & 0xffffffffn))
    this.write32(addr + 4, Number(v >> 32n))
  }

  /**
   * 64-bit read as two 32-bit halves, without a bigint: the page-table
   * walker's hot path. Returns the low word; the high word is left in
   * {@link PhysMemory.hi}.
   */
  read64Split(addr: number): number {
    this.hi = this.read32(addr + 4)
    return this.read32(addr)
  }
  /** High word of the last {@link PhysMemory.read64Split}. */
  hi = 0

  /** True if the page holding `addr` has backing store (was ever written). */
  isAllocated(addr: number): boolean {
    return this.pages.has(Math.floor(addr / PAGE_SIZE))
  }
}
