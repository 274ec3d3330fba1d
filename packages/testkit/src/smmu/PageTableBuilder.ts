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
export interface BuiltTables {
  /** TTBR0 value: root table address | ASID << 48. */
  readonly ttbr0: bigint
  /** TTBR1 value (0 when the regime has no TTBR1 region). */
  readonly ttbr1: bigint
  /** Physical address of the TTBR0 / TTBR1 root table (undefined: no such region). */
  readonly root0: number | undefined
  readonly root1: number | undefined
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

/** Writes the tables for `mappings` (and `opts.tables`) and returns the register values to program. */
export function buildPageTables(mem: PhysMemory, regime: Regime, mappings: readonly Mapping[], opts: BuildOptions): BuiltTables {
  const firstFrame = opts.alloc.frames.length
  const roots = new Map<0 | 1, number>()
  for (const r of regionsOf(regime)) roots.set(r.ttbr, opts.alloc.alloc())

  const read = (addr: number): bigint => mem.read64(addr)
  const hex = (n: number): string => `0x${n.toString(16)}`

  /** Walks from the root to the table holding the level-`level` descriptor for `va`, creating tables. */
  const tableFor = (region: TtbrRegion, va: number, level: number, what: string): number => {
    let table = roots.get(region.ttbr)!
    for (let l = region.startLevel; l < level; l++) {
      const at = table + tableIndex(region, l, va) * 8
      const d = read(at)
      if ((d & 1n) === 0n) {
        const next = opts.alloc.alloc()
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

  for (const m of mappings) {
    const what = `mapping va=${hex(m.va)} size=${hex(m.size)}`
    const level = leafLevelOf(m.size)
    if (m.va % m.size !== 0 || m.pa % m.size !== 0) throw new Error(`${what}: va and pa must be aligned to the size`)
    const region = regionFor(regime, m.va)
    if (region === undefined || m.va + m.size > region.end) throw new Error(`${what}: not inside one TTBR region`)
    if (level < Math.max(region.startLevel, 1)) throw new Error(`${what}: no level-${level} blocks when the walk starts at level ${region.startLevel}`)
    const at = tableFor(region, m.va, level, what) + tableIndex(region, level, m.va) * 8
    if (read(at) !== 0n) throw new Error(`${what}: overlaps another mapping`)
    mem.write64(at, encodeLeaf(m, level))
  }

  for (const t of opts.tables ?? []) {
    const what = `table attrs va=${hex(t.va)} level=${t.level}`
    const region = regionFor(regime, t.va)
    if (region === undefined) throw new Error(`${what}: not inside a TTBR region`)
    if (t.level < region.startLevel || t.level > 2) throw new Error(`${what}: no table descriptor at that level`)
    const base = t.va - (t.va % levelSpan(t.level))
    // Make sure the level-`level` descriptor is a table (tableFor creates it), then OR in the attributes.
    tableFor(region, base, t.level + 1, what)
    const at = tableFor(region, base, t.level, what) + tableIndex(region, t.level, base) * 8
    mem.write64(at, read(at) | encodeTable(0, t))
  }

  const asid = BigInt((opts.asid ?? 0) & 0xffff) << 48n
  const root0 = roots.get(0)
  const root1 = roots.get(1)
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
