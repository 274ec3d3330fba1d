/**
 * The TLB of one context bank: successful walk results (leaf entries: 4 KiB
 * pages, 2 MiB and 1 GiB blocks), tagged by ASID unless the descriptor was
 * global (nG = 0). Faults are never cached (Linux installs new mappings
 * without any invalidation, spec §0 "No negative caching").
 *
 * One map per level, keyed by `tag × 2^36 + VA / blockSize`, where the tag
 * is the ASID or {@link GLOBAL_TAG}. A hit on a 4 KiB page is one Map lookup;
 * nothing on the lookup path allocates.
 */

/** Permission bits a TLB entry carries, resolved at walk time (spec §3.5). */
export const PERM = {
  R_PRIV: 1, W_PRIV: 2, X_PRIV: 4, R_USER: 8, W_USER: 16, X_USER: 32,
} as const

/** Tag of global entries (above every 16-bit ASID). */
export const GLOBAL_TAG = 0x10000

/** Bytes covered by one entry at each level for the 4 KiB granule: 512 GiB, 1 GiB, 2 MiB, 4 KiB. */
export const LEVEL_SIZE = [2 ** 39, 2 ** 30, 2 ** 21, 2 ** 12] as const

const TAG_SCALE = 2 ** 36

/** One cached translation. */
export class TlbEntry {
  /** Input address of the first byte covered. */
  vaBase = 0
  /** Bytes covered (4 KiB, 2 MiB or 1 GiB). */
  size = 0
  /** Level of the leaf descriptor (1, 2 or 3). */
  level = 3
  /** Output address of the first byte covered. */
  pa = 0
  /** ASID the entry was walked with. */
  asid = 0
  /** nG = 0: matches every ASID. */
  global = false
  /** {@link PERM} bits. */
  perms = 0
  /** MAIR attribute byte selected by AttrIndx. */
  attr = 0
  /** Shareability SH[1:0]. */
  sh = 0
  /** The descriptor's NS bit. */
  ns = false

  /** Short text of the permissions, for traces ("R/W priv, R user, X"). */
  permText(): string {
    const p = this.perms
    const s = (r: number, w: number, x: number) => `${p & r ? 'R' : '-'}${p & w ? 'W' : '-'}${p & x ? 'X' : '-'}`
    return `priv ${s(PERM.R_PRIV, PERM.W_PRIV, PERM.X_PRIV)} user ${s(PERM.R_USER, PERM.W_USER, PERM.X_USER)}`
  }
}

/** Counters of one TLB. */
export interface TlbCounters {
  hits: number
  misses: number
  inserts: number
  removed: number
  /** Times the TLB was flushed because it was full. */
  capacityFlushes: number
}

/** The TLB of one context bank. */
export class Tlb {
  private readonly maps: Map<number, TlbEntry>[] = [new Map(), new Map(), new Map(), new Map()]
  /** Bit l set when level l holds entries: lookups skip empty levels. */
  private levelMask = 0
  private globals = 0
  private n = 0
  /** The entry of the last hit (dropped whenever an entry is removed). */
  private last: TlbEntry | undefined = undefined
  /** Entries held before the TLB flushes itself to make room. */
  readonly capacity: number
  readonly counters: TlbCounters = { hits: 0, misses: 0, inserts: 0, removed: 0, capacityFlushes: 0 }

  constructor(capacity: number) {
    this.capacity = capacity
  }

  /** Number of entries held. */
  get size(): number {
    return this.n
  }

  /** The entry translating `va` for `asid`, or undefined. Counts a hit or a miss. */
  lookup(va: number, asid: number): TlbEntry | undefined {
    // Streaming DMA hits the same page many times in a row: try the last hit first.
    const last = this.last
    if (last !== undefined && va >= last.vaBase && va - last.vaBase < last.size && (last.global || last.asid === asid)) {
      this.counters.hits++
      return last
    }
    const mask = this.levelMask
    for (let l = 3; l >= 1; l--) {
      if ((mask & (1 << l)) === 0) continue
      const vpn = Math.floor(va / LEVEL_SIZE[l]!)
      const m = this.maps[l]!
      let e = m.get(asid * TAG_SCALE + vpn)
      if (e === undefined && this.globals > 0) e = m.get(GLOBAL_TAG * TAG_SCALE + vpn)
      if (e !== undefined) {
        this.counters.hits++
        this.last = e
        return e
      }
    }
    this.counters.misses++
    return undefined
  }

  /** Caches a walk result. Returns true if the TLB was full and flushed first. */
  insert(e: TlbEntry): boolean {
    let flushed = false
    if (this.n >= this.capacity) {
      this.clear()
      this.counters.capacityFlushes++
      flushed = true
    }
    const key = (e.global ? GLOBAL_TAG : e.asid) * TAG_SCALE + Math.floor(e.vaBase / e.size)
    const m = this.maps[e.level]!
    const old = m.get(key)
    if (old !== undefined) {
      if (old.global) this.globals--
      if (old === this.last) this.last = undefined
      this.n--
    }
    m.set(key, e)
    this.n++
    if (e.global) this.globals++
    this.levelMask |= 1 << e.level
    this.counters.inserts++
    return flushed
  }

  private remove(m: Map<number, TlbEntry>, key: number): number {
    const e = m.get(key)
    if (e === undefined) return 0
    m.delete(key)
    if (e === this.last) this.last = undefined
    if (e.global) this.globals--
    this.n--
    this.counters.removed++
    return 1
  }

  /**
   * Removes the entries whose range contains `va`: those of `asid` and the
   * global ones, or (allAsids) every entry. Blocks containing `va` go too.
   */
  invalidateVa(va: number, asid: number, allAsids: boolean): number {
    let removed = 0
    for (let l = 1; l <= 3; l++) {
      const m = this.maps[l]!
      if (m.size === 0) continue
      const vpn = Math.floor(va / LEVEL_SIZE[l]!)
      if (allAsids) {
        for (const [key, e] of m) if (Math.floor(e.vaBase / e.size) === vpn) removed += this.remove(m, key)
      } else {
        removed += this.remove(m, asid * TAG_SCALE + vpn)
        removed += this.remove(m, GLOBAL_TAG * TAG_SCALE + vpn)
      }
    }
    return removed
  }

  /** Removes the non-global entries of `asid`. */
  invalidateAsid(asid: number): number {
    let removed = 0
    for (const m of this.maps) {
      for (const [key, e] of m) if (!e.global && e.asid === asid) removed += this.remove(m, key)
    }
    return removed
  }

  /** Removes everything; returns the number of entries removed. */
  clear(): number {
    const removed = this.n
    this.last = undefined
    for (const m of this.maps) m.clear()
    this.n = 0
    this.globals = 0
    this.levelMask = 0
    this.counters.removed += removed
    return removed
  }

  /** The cached entries (for tests and teaching views). */
  entries(): TlbEntry[] {
    const out: TlbEntry[] = []
    for (const m of this.maps) for (const e of m.values()) out.push(e)
    return out
  }
}
