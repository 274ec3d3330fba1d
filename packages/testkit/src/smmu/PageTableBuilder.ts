/**
 * Writes real long-descriptor translation tables for a list of mappings into
 * physical memory, and tells the test what to program into the context bank
 * (TTBR0/TTBR1, TTBCR, TCR2, SCTLR).
 *
 * Written from the architecture text (ARMv7-A ARM B3.6, ARMv8-A ARM D5;
 * spec/smmu.md §3.2–§3.4), not from the SMMU model: tests compare the model
 * against tables built here and against {@link referenceTranslate}.
 *
 * Tables are created exactly where a mapping (or a {@link TableAttrs} entry)
 * needs them, one 4 KiB frame each, from a bump allocator. The builder
 * throws on impossible input (overlap, misalignment, a VA no TTBR covers):
 * it is test code, and a broken test setup must be loud.
 */
import type { PhysMemory } from '@vfio-sim/sim'
import { encodeLeaf, encodeTable, type Mapping, type TableAttrs } from './descriptors.ts'
import { leafLevelOf, levelSpan, regionFor, regionsOf, tableIndex, type TtbrRegion, type Regime } from './regime.ts'

const FRAME = 0x1000

/** Hands out zeroed 4 KiB frames of physical memory, upwards from `base`. */
export class FrameAllocator {
  private nextFrame: number
  private readonly limit: number
  private readonly mem: PhysMemory
  /** Every frame handed out, in order. */
  readonly frames: number[] = []

  /** Frames come from [`base`, `base + size`); `base` must be 4 KiB aligned. */
  constructor(mem: PhysMemory, base: number, size: number) {
    if (base % FRAME !== 0) throw new RangeError('FrameAllocator: base must be 4 KiB aligned')
    this.mem = mem
    this.nextFrame = base
    this.limit = base + size
  }

  /** A new zeroed frame; throws when the pool is exhausted. */
  alloc(): number {
    if (this.nextFrame + FRAME > this.limit) throw new RangeError('FrameAllocator: out of frames')
    const f = this.nextFrame
    this.nextFrame += FRAME
    this.mem.fill(f, FRAME, 0)
    this.frames.push(f)
    return f
  }
}

/** Options of {@link buildPageTables}. */
export interface BuildOptions {
  /** Where table frames come from. */
  readonly alloc: FrameAllocator
  /** Table descriptors to create (even with no mapping below) and their hierarchical attributes. */
  readonly tables?: readonly TableAttrs[]
  /** ASID for TTBR0[55:48] / TTBR1[55:48] (default 0). */
  readonly asid?: number
}

/** What the test programs into the context bank after {@link buildPageTables}. */
export interface BuiltTables extends TableRoots {
  /** TTBR0 value: root table address | ASID << 48. */
  readonly ttbr0: bigint
  /** TTBR1 value (0 when the regime has no TTBR1 region). */
  readonly ttbr1: bigint
  // root0 / root1 (from TableRoots): physical address of the TTBR0 / TTBR1 root table (undefined: no such region).
  /**
   * TTBCR (AArch32-LPAE: T0SZ[2:0], EPD0 7, T1SZ[18:16], EPD1 23, EAE 31) or
   * TCR (AArch64: T0SZ[5:0], EPD0 7, TG0 = 0 (4K), EPD1 23). Shareability and
   * cacheability fields are left 0.
   */
  readonly ttbcr: number
  /** TCR2 for an SMMUv2 AArch64 bank: PASIZE[2:0] from the regime's OAS. 0 for AArch32. */
  readonly tcr2: number
  /**
   * A matching SCTLR: M | TRE | AFE | CFRE | CFIE | ASIDPNE, plus AFFD / WXN /
   * UWXN from the regime (bit positions: spec §1.4 SCTLR table).
   */
  readonly sctlr: number
  /** Table frames allocated, in order. */
  readonly frames: readonly number[]
}

/** SCTLR bit values (spec §1.4). */
export const Sctlr = {
  M: 1 << 0,
  TRE: 1 << 1,
  AFE: 1 << 2,
  AFFD: 1 << 3,
  E: 1 << 4,
  CFRE: 1 << 5,
  CFIE: 1 << 6,
  CFCFG: 1 << 7,
  HUPCF: 1 << 8,
  WXN: 1 << 9,
  UWXN: 1 << 10,
  ASIDPNE: 1 << 12,
} as const

/** TTBCR value for a regime (see {@link BuiltTables.ttbcr}). */
export function ttbcrFor(regime: Regime): number {
  if (regime.format === 'aarch64') {
    return ((regime.t0sz & 0x3f) | (regime.epd0 ? 1 << 7 : 0) | (regime.epd1 ? 1 << 23 : 0)) >>> 0
  }
  return (
    ((regime.t0sz & 7) | (regime.epd0 ? 1 << 7 : 0) | ((regime.t1sz & 7) << 16) | (regime.epd1 ? 1 << 23 : 0) | 0x80000000) >>> 0
  )
}

/** SCTLR value for a regime (see {@link BuiltTables.sctlr}). */
export function sctlrFor(regime: Regime): number {
  let v = Sctlr.M | Sctlr.TRE | Sctlr.AFE | Sctlr.CFRE | Sctlr.CFIE | Sctlr.ASIDPNE
  if (regime.affd) v |= Sctlr.AFFD
  if (regime.wxn) v |= Sctlr.WXN
  if (regime.uwxn) v |= Sctlr.UWXN
  return v >>> 0
}

/** TCR2.PASIZE encoding of an output size: 32→0, 36→1, 40→2, 42→3, 44→4, 48→5 (spec §1.2 IDR2 encoding). */
export function paSizeEncoding(bits: number): number {
  const table = [32, 36, 40, 42, 44, 48]
  const i = table.indexOf(bits)
  return i < 0 ? 5 : i
}

/** Root table addresses of an existing set of tables (from {@link BuiltTables}). */
export interface TableRoots {
  readonly root0: number | undefined
  readonly root1: number | undefined
}

const hex = (n: number): string => `0x${n.toString(16)}`

/** The table holding the level-`level` descriptor for `va`, walking from the root; creates missing tables when `alloc` is given. */
function tableFor(mem: PhysMemory, roots: TableRoots, region: TtbrRegion, va: number, level: number, alloc: FrameAllocator | undefined, what: string): number | undefined {
  let table = region.ttbr === 0 ? roots.root0 : roots.root1
  if (table === undefined) throw new Error(`${what}: no TTBR${region.ttbr} root table`)
  for (let l = region.startLevel; l < level; l++) {
    const at = table + tableIndex(region, l, va) * 8
    const d = mem.read64(at)
    if ((d & 1n) === 0n) {
      if (alloc === undefined) return undefined
      const next = alloc.alloc()
      mem.write64(at, encodeTable(next))
      table = next
    } else if ((d & 3n) === 3n) {
      table = Number(d & 0x0000_ffff_ffff_f000n)
    } else {
      throw new Error(`${what}: VA ${hex(va)} lies under a block mapped at level ${l}`)
    }
  }
  return table
}

/**
 * Adds `mappings` (and table attributes) to existing tables, creating
 * intermediate tables from `alloc` where needed. Throws on overlap with an
 * existing leaf, misalignment or a VA no TTBR covers.
 */
export function mapInto(mem: PhysMemory, regime: Regime, roots: TableRoots, mappings: readonly Mapping[], alloc: FrameAllocator, tables: readonly TableAttrs[] = []): void {
  for (const m of mappings) {
    const what = `mapping va=${hex(m.va)} size=${hex(m.size)}`
    const level = leafLevelOf(m.size)
    if (m.va % m.size !== 0 || m.pa % m.size !== 0) throw new Error(`${what}: va and pa must be aligned to the size`)
    const region = regionFor(regime, m.va)
    if (region === undefined || m.va + m.size > region.end) throw new Error(`${what}: not inside one TTBR region`)
    if (level < Math.max(region.startLevel, 1)) throw new Error(`${what}: no level-${level} blocks when the walk starts at level ${region.startLevel}`)
    const at = tableFor(mem, roots, region, m.va, level, alloc, what)! + tableIndex(region, level, m.va) * 8
    if (mem.read64(at) !== 0n) throw new Error(`${what}: overlaps another mapping`)
    mem.write64(at, encodeLeaf(m, level))
  }
  for (const t of tables) {
    const what = `table attrs va=${hex(t.va)} level=${t.level}`
    const region = regionFor(regime, t.va)
    if (region === undefined) throw new Error(`${what}: not inside a TTBR region`)
    if (t.level < region.startLevel || t.level > 2) throw new Error(`${what}: no table descriptor at that level`)
    const base = t.va - (t.va % levelSpan(t.level))
    // Make sure the level-`level` descriptor is a table (creating it), then OR in the attributes.
    tableFor(mem, roots, region, base, t.level + 1, alloc, what)
    const at = tableFor(mem, roots, region, base, t.level, alloc, what)! + tableIndex(region, t.level, base) * 8
    mem.write64(at, mem.read64(at) | encodeTable(0, t))
  }
}

/**
 * Removes the leaf mapping `m` (writes its descriptor to 0, as an unmap
 * does; intermediate tables stay). Returns the descriptor's address, or
 * undefined when no such leaf exists.
 */
export function unmapLeaf(mem: PhysMemory, regime: Regime, roots: TableRoots, m: Pick<Mapping, 'va' | 'size'>): number | undefined {
  const region = regionFor(regime, m.va)
  if (region === undefined) return undefined
  const level = leafLevelOf(m.size)
  const table = tableFor(mem, roots, region, m.va, level, undefined, `unmap va=${hex(m.va)}`)
  if (table === undefined) return undefined
  const at = table + tableIndex(region, level, m.va) * 8
  const d = mem.read64(at)
  if ((d & 1n) === 0n || (level < 3 ? (d & 3n) !== 1n : (d & 3n) !== 3n)) return undefined
  mem.write64(at, 0n)
  return at
}

/** Writes the tables for `mappings` (and `opts.tables`) and returns the register values to program. */
export function buildPageTables(mem: PhysMemory, regime: Regime, mappings: readonly Mapping[], opts: BuildOptions): BuiltTables {
  const firstFrame = opts.alloc.frames.length
  let root0: number | undefined
  let root1: number | undefined
  for (const r of regionsOf(regime)) {
    if (r.ttbr === 0) root0 = opts.alloc.alloc()
    else root1 = opts.alloc.alloc()
  }
  mapInto(mem, regime, { root0, root1 }, mappings, opts.alloc, opts.tables ?? [])
  const asid = BigInt((opts.asid ?? 0) & 0xffff) << 48n
  return {
    ttbr0: root0 === undefined ? 0n : BigInt(root0) | asid,
    ttbr1: root1 === undefined ? 0n : BigInt(root1) | asid,
    root0,
    root1,
    ttbcr: ttbcrFor(regime),
    tcr2: regime.format === 'aarch64' ? paSizeEncoding(regime.oasBits) : 0,
    sctlr: sctlrFor(regime),
    frames: opts.alloc.frames.slice(firstFrame),
  }
}
